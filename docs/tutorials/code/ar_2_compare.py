coefs = ["const", "lag1", "lag2"]
rows = {
    "nonrobust": res.cov_params("nonrobust"),
    "HC0": res.cov_params("HC0"),
    "HAC NW(4)": res.cov_params("HAC", maxlags=4),
    "HAC Newey-West auto": res.cov_params("HAC"),
    "HAC QS, Andrews, prewhite": res.cov_params("HAC", kernel="quadratic-spectral",
                                                bw_method="andrews", prewhite=True),
}
print(pd.DataFrame({k: np.sqrt(np.diag(v.loc[coefs, coefs])) for k, v in rows.items()},
                   index=coefs).T.round(4))
print(res.cov_info("HAC", kernel="quadratic-spectral", bw_method="andrews",
                   prewhite=True).description)
