# long-run mean and persistence of inflation, with HAC standard errors
lr = res.delta_method(["Intercept / (1 - lag1 - lag2)", "lag1 + lag2"],
                      names=["long-run mean", "persistence"])
print(lr.summary_frame().round(4))
