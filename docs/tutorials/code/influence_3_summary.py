tab = res.influence_summary()          # Newton-step LOO behind dfbeta and Cook's distance
print(tab[["dfbeta_PSI", "cooks_d", "leverage", "resid_pearson"]]
      .sort_values("cooks_d").tail(4).round(3))
