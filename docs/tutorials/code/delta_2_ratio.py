crime = sm.datasets.statecrime.load_pandas().data     # 50 states and DC
res = me.OLS.from_formula("murder ~ poverty + single + urban", data=crime).fit(cov_type="HC3")
ratio = res.delta_method("poverty / single")          # an expression in parameter names
print(ratio.summary_frame().round(4))
print(ratio.wald_test(1.0))                           # H0: the two effects are equal
both = res.delta_method(["poverty / single", "exp(urban)"], cov_type="HC1")
print(both.cov_params().round(5))
