import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.scatter(chk["predicted"], chk["actual"])
for _, row in chk.iterrows():
    ax.annotate(row["document"], (row["predicted"], row["actual"]), fontsize=6)
lim = [min(chk["predicted"].min(), chk["actual"].min()), max(chk["predicted"].max(), chk["actual"].max())]
ax.plot(lim, lim, color="0.7", lw=1)
ax.set_xlabel("predicted change of log P (influence)")
ax.set_ylabel("actual change (retrained)")
fig.tight_layout()
fig.savefig("attribution_check.png", dpi=80)
