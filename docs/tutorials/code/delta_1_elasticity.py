import statsmodels.api as sm
import mestimate as me

engel = sm.datasets.engel.load_pandas().data          # household income and food spending
res = me.OLS.from_formula("foodexp ~ income", data=engel).fit(cov_type="HC1")
xbar = engel["income"].mean()
# elasticity of food spending at mean income: b·x̄ / (a + b·x̄)
elasticity = res.delta_method(lambda p: p["income"] * xbar / (p["Intercept"] + p["income"] * xbar),
                              names=["elasticity at mean income"])
print(elasticity.summary_frame().round(4))
# the same in logs, where the elasticity is a coefficient
loglog = me.OLS.from_formula("np.log(foodexp) ~ np.log(income)", data=engel).fit(cov_type="HC1")
print(loglog.summary_frame().round(4).iloc[1:])
