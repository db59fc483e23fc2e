import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 4))
lim = [table.min().min() * 1.1, table.max().max() * 1.1]
ax.plot(lim, lim, color="0.7", lw=1)
ax.scatter(table["exact"], table["ij"], s=18, label="infinitesimal jackknife")
ax.scatter(table["exact"], table["newton"], s=18, marker="x", label="Newton step")
ax.set_xlabel("exact change of PSI coefficient (refit)")
ax.set_ylabel("approximate change")
ax.legend(frameon=False)
fig.tight_layout()
fig.savefig("influence_loo.png", dpi=80)
