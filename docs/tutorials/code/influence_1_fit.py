import pandas as pd
import numpy as np
import statsmodels.api as sm
import mestimate as me

spector = sm.datasets.spector.load_pandas().data       # 32 students
res = me.Logit.from_formula("GRADE ~ GPA + TUCE + PSI", data=spector).fit()
infl = res.influence()                 # n × k: I(z_t) = −H⁻¹ G(z_t)
print(infl.round(2).head())
on_psi = res.influence_on("PSI")       # ∇φ·I(z_t) for φ = the PSI coefficient
print(on_psi.sort_values().round(2).iloc[[0, 1, -2, -1]])
