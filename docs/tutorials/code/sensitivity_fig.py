import matplotlib.pyplot as plt
import numpy as np

change = -res.influence_on("age") / res.nobs           # predicted Δ when each point is dropped
order = np.argsort(change.to_numpy())[::-1]
path = res.params["age"] + np.cumsum(change.to_numpy()[order])[:200]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(np.arange(1, 201), path, label="age coefficient (first-order prediction)")
ax.axhline(0, color="k", lw=0.8)
ax.set_xlabel("number of observations dropped (most influential first)")
ax.set_ylabel("coefficient")
ax.legend(frameon=False, fontsize=8)
fig.tight_layout()
fig.savefig("sensitivity_path.png", dpi=80)
