import matplotlib.pyplot as plt

psi = res.estfun()                                     # rows G(z_t; θ̂), n × k
lags = np.arange(1, 13)
acf = [np.corrcoef(psi[l:, 1], psi[:-l, 1])[0, 1] for l in lags]
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(lags, acf, color="tab:blue")
ax.axhline(0, color="k", lw=0.8)
for s in (-1, 1):
    ax.axhline(s * 1.96 / np.sqrt(len(psi)), color="0.5", ls="--", lw=0.8)
ax.set_xlabel("lag")
ax.set_ylabel("autocorrelation")
ax.set_title("score of lag1: G(z_t)·e_lag1", fontsize=10)
fig.tight_layout()
fig.savefig("ar_score_acf.png", dpi=80)
