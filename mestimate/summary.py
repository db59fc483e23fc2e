"""Summary tables rendered with statsmodels' summary machinery."""
from __future__ import annotations

import numpy as np
from statsmodels.iolib.summary import Summary
from statsmodels.iolib.table import SimpleTable

__all__ = ["make_summary"]


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.6g}"
    return str(v)


def _two_col_table(left: list, right: list) -> SimpleTable:
    rows = []
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ("", "")
        b = right[i] if i < len(right) else ("", "")
        rows.append([f"{a[0]}:" if a[0] else "", _fmt(a[1]), f"{b[0]}:" if b[0] else "", _fmt(b[1])])
    return SimpleTable(rows, txt_fmt={"data_fmts": ["%s", "%s", "%s", "%s"],
                                      "colsep": "   ", "table_dec_above": "=",
                                      "table_dec_below": None})


def make_summary(res, alpha: float = 0.05, title: str | None = None) -> Summary:
    """Summary of an :class:`~mestimate.results.MEstimatorResults`.

    The header shows the model, number of observations (and rows dropped for missing
    values), mean loss, the covariance type as used (e.g. ``cluster (firm), G = 500``),
    and the optimiser's convergence; then the coefficient table.
    """
    model = res.model
    _, info = res._cov()
    dep = getattr(model, "endog_name", None)
    left = [("Model", type(model).__name__)]
    if dep:
        left.append(("Dep. variable", dep))
    left += [("No. observations", res.nobs)]
    if res.n_dropped:
        left.append(("Dropped (missing)", res.n_dropped))
    left += [("Df residuals", res.df_resid), ("Mean loss", res.loss)]
    right = [("Covariance", getattr(info, "description", res.cov_type)),
             ("Inference", "t" if res.use_t else "normal (z)"),
             ("Converged", "yes" if res.converged else "NO"),
             ("Iterations", res.iterations), ("Method", res.method),
             ("Max |gradient|", f"{res.grad_norm:.2e}")]
    if model.nonrobust == "least_squares":
        right.append(("Residual std", float(np.sqrt(res.scale))))
    smry = Summary()
    smry.tables.append(_two_col_table(left, right))
    frame = res.summary_frame(alpha)
    rows = [[f"{v:.4f}" if abs(v) >= 1e-4 or v == 0 else f"{v:.4e}" for v in row]
            for row in frame.to_numpy()]
    rows = [[r[0], r[1], f"{float(frame.iloc[i, 2]):.3f}", f"{float(frame.iloc[i, 3]):.3f}", r[4], r[5]]
            for i, r in enumerate(rows)]
    smry.tables.append(SimpleTable(rows, headers=list(frame.columns), stubs=list(frame.index),
                                   txt_fmt={"table_dec_above": "=", "table_dec_below": "=",
                                            "header_dec_below": "-"}))
    notes = list(res.notes)
    if getattr(info, "description", None) and "nonrobust" not in info.description:
        notes.append(f"Standard errors: {info.description.rstrip('.')}.")
    if notes:
        smry.add_extra_txt([f"[{i + 1}] {n}" for i, n in enumerate(notes)])
    if title is None:
        title = f"{type(model).__name__} results"
    smry.tables[0].title = title
    return smry
