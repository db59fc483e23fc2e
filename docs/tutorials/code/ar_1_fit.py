import numpy as np
import pandas as pd
import statsmodels.api as sm
import mestimate as me

macro = sm.datasets.macrodata.load_pandas().data
infl = macro["infl"].rename("infl")
# conditional (CSS) Gaussian likelihood of an AR(2): intercept, lag1, lag2 and log σ²
res = me.GaussianAR(infl, lags=2).fit(cov_type="HAC", cov_kwds={"maxlags": None})
print(res.summary())
# the same coefficients as statsmodels' AutoReg (conditional MLE)
ar = sm.tsa.AutoReg(infl.to_numpy(), lags=2, trend="c").fit()
print("max |difference| from AutoReg:",
      f"{np.max(np.abs(res.params.iloc[:3].to_numpy() - ar.params)):.1e}")
