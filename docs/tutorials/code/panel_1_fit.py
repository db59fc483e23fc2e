import statsmodels.api as sm
import mestimate as me

grunfeld = sm.datasets.grunfeld.load_pandas().data      # 11 firms, 20 years
model = me.OLS.from_formula("invest ~ value + capital", data=grunfeld)
res = model.fit(cov_type="cluster", cov_kwds={"groups": "firm"})
print(res.summary())
