"""Optional plots of influence and leave-one-out accuracy (matplotlib, imported lazily)."""
from __future__ import annotations

import numpy as np

from .exceptions import MEstimateError

__all__ = ["plot_influence_index", "plot_loo_accuracy"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise MEstimateError("plotting needs matplotlib: pip install matplotlib") from None
    return plt


def plot_influence_index(res, phi, *, groups=None, n_label: int = 5, ax=None):
    """Index plot of each observation's influence ∇φ·I(z_t) on φ, the largest labelled.

    Parameters
    ----------
    res : MEstimatorResults
    phi : str or callable
        Passed to :func:`mestimate.influence.influence_on`.
    groups : array_like or str, optional
    n_label : int
        How many of the largest |influence| points to label.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> res = me.OLS(np.array([1.0, 2.0, 4.0, 9.0]), np.ones((4, 1))).fit()
    >>> fig = plot_influence_index(res, "const")
    >>> fig.axes[0].get_ylabel()
    'influence on const'
    """
    plt = _pyplot()
    s = res.influence_on(phi, groups=groups)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    else:
        fig = ax.figure
    x = np.arange(s.size)
    ax.vlines(x, 0, s.to_numpy(), lw=0.8)
    ax.axhline(0, color="grey", lw=0.5)
    for i in np.argsort(-np.abs(s.to_numpy()))[:n_label]:
        ax.annotate(str(s.index[i]), (x[i], s.iloc[i]), fontsize=8, ha="center",
                    va="bottom" if s.iloc[i] > 0 else "top")
    ax.set_xlabel("group" if groups is not None else "observation")
    ax.set_ylabel(f"influence on {s.name}")
    return fig


def plot_loo_accuracy(acc, param: str | None = None, *, ax=None):
    """Approximate (IJ, Newton step) against exact leave-one-out shifts of one parameter.

    Parameters
    ----------
    acc : LooAccuracy
        From :func:`mestimate.loo.loo_accuracy`.
    param : str, optional
        Parameter to show (the first by default).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure
    """
    plt = _pyplot()
    param = acc.exact.columns[0] if param is None else param
    if param not in acc.exact.columns:
        raise MEstimateError(f"unknown parameter {param!r}; choose one of "
                             f"{list(acc.exact.columns)}")
    theta = acc.params[param]
    exact = acc.exact[param].to_numpy() - theta
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    else:
        fig = ax.figure
    for (name, frame), marker in zip(acc.approx.items(), "ox"):
        ax.scatter(exact, frame[param].to_numpy() - theta, s=12, marker=marker, label=name,
                   alpha=0.7)
    lim = np.nanmax(np.abs(exact)) * 1.05 or 1.0
    ax.plot([-lim, lim], [-lim, lim], color="grey", lw=0.7)
    ax.set_xlabel(f"exact shift of {param}")
    ax.set_ylabel("approximate shift")
    ax.legend()
    return fig
