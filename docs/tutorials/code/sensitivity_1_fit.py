import statsmodels.api as sm
import mestimate as me

fair = sm.datasets.fair.load_pandas().data            # 6,366 women, 1974 survey
fair["any_affair"] = (fair["affairs"] > 0).astype(float)
formula = "any_affair ~ rate_marriage + age + yrs_married + children + religious + educ"
res = me.Logit.from_formula(formula, data=fair).fit(cov_type="HC1")
print(res.summary_frame().round(3))
