import numpy as np
import pandas as pd

covariances = {
    "nonrobust": res.cov_params("nonrobust"),
    "HC1": res.cov_params("HC1"),
    "HC3": res.cov_params("HC3"),
    "cluster(firm)": res.cov_params("cluster", groups="firm"),
    "cluster(firm, year)": res.cov_params("cluster", groups=grunfeld[["firm", "year"]]),
    "HAC(2) by firm": res.cov_params("HAC", maxlags=2, groups="firm", order_by="year"),
}
ses = pd.DataFrame({name: np.sqrt(np.diag(cov)) for name, cov in covariances.items()},
                   index=res.param_names)
print(ses.round(3).T)
print(res.cov_info("cluster", groups="firm").description)
