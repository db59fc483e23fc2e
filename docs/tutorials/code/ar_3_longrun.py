# long-run mean and persistence of inflation, with HAC standard errors
lr = res.delta_method(["const / (1 - lag1 - lag2)", "lag1 + lag2"],
                      names=["long-run mean", "persistence"])
print(lr.summary_frame().round(4))
# the long-run multiplier of user story 4, as a callable of the named parameters
print(res.delta_method(lambda p: p["lag1"] / (1 - p["lag1"] - p["lag2"])).summary_frame().round(4))
