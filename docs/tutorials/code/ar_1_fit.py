import numpy as np
import pandas as pd
import statsmodels.api as sm
import mestimate as me

macro = sm.datasets.macrodata.load_pandas().data
infl = pd.DataFrame({"infl": macro["infl"]})
infl["lag1"], infl["lag2"] = infl["infl"].shift(1), infl["infl"].shift(2)
# the conditional Gaussian likelihood of an AR(2) is least squares on the lags
res = me.OLS.from_formula("infl ~ lag1 + lag2", data=infl).fit(cov_type="HAC",
                                                               cov_kwds={"maxlags": None})
print(res.summary())
