loo = {m: res.loo_params(method=m)["PSI"] for m in ("ij", "newton", "exact")}
table = pd.DataFrame(loo).sub(res.params["PSI"])   # change of the PSI coefficient
print(table.loc[table["exact"].abs().sort_values().index[-4:]].round(3))
print(res.loo_accuracy())
