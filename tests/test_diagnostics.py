"""influence_summary against R's influence.measures / rstudent / cooks.distance and statsmodels."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.outliers_influence import OLSInfluence

import mestimate as me

REF = Path(__file__).parent / "reference" / "influence"
STACK = "Q('stack.loss') ~ Q('Air.Flow') + Q('Water.Temp') + Q('Acid.Conc.')"


@pytest.fixture(scope="module")
def stack_fit():
    return me.OLS.from_formula(STACK, pd.read_csv(REF / "data_stackloss.csv")).fit()


@pytest.fixture(scope="module")
def infert_fit():
    d = pd.read_csv(REF / "data_infert.csv")
    return me.Logit.from_formula("case ~ age + parity + induced + spontaneous", d).fit(xtol=1e-14)


def _cols(tab, prefix):
    return tab[[c for c in tab.columns if c.startswith(prefix)]].to_numpy()


def test_lm_against_r_influence_measures(stack_fit):
    ref = pd.read_csv(REF / "lm_stackloss.csv")
    tab = stack_fit.influence_summary()
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)  # noqa: E731
    close(_cols(tab, "dfbetas_"), ref[["dfb.1_", "dfb.Ar.F", "dfb.Wt.T", "dfb.A.C."]])
    close(_cols(tab, "dfbeta_"), _cols(ref, "dfbeta."))
    close(tab["dffits"], ref["dffit"])
    close(tab["cooks_d"], ref["cook.d"])
    close(tab["leverage"], ref["hat"])
    close(tab["resid_std"], ref["rstandard"])
    close(tab["resid_student"], ref["rstudent"])
    assert tab.attrs["method"] == "newton"


def test_lm_against_statsmodels_summary_frame(stack_fit):
    m = stack_fit.model
    sf = OLSInfluence(sm.OLS(m.endog, m.exog).fit()).summary_frame()
    tab = stack_fit.influence_summary()
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)  # noqa: E731
    close(_cols(tab, "dfbetas_"), _cols(sf, "dfb_"))
    for mine, theirs in [("cooks_d", "cooks_d"), ("resid_std", "standard_resid"),
                         ("leverage", "hat_diag"), ("resid_student", "student_resid"),
                         ("dffits", "dffits")]:
        close(tab[mine], sf[theirs])


def test_weighted_lm_against_r(stack_fit):
    ref = pd.read_csv(REF / "wlm_stackloss.csv")
    res = stack_fit.refit(weights=ref["w"].to_numpy())
    tab = res.influence_summary(method="exact")
    for mine, theirs in [("cooks_d", "cooks"), ("leverage", "hat"), ("resid_std", "rstandard"),
                         ("resid_student", "rstudent")]:
        np.testing.assert_allclose(tab[mine], ref[theirs], rtol=1e-9)


def test_glm_against_r_and_statsmodels(infert_fit):
    ref = pd.read_csv(REF / "glm_infert.csv")
    tab = infert_fit.influence_summary()
    np.testing.assert_allclose(tab["leverage"], ref["hat"], rtol=1e-7)
    np.testing.assert_allclose(tab["cooks_d"], ref["cooks"], rtol=1e-7)
    np.testing.assert_allclose(tab["resid_std"], ref["rstandard"], rtol=1e-7)
    m = infert_fit.model
    sf = sm.GLM(m.endog, m.exog, family=sm.families.Binomial()).fit(tol=1e-14) \
        .get_influence().summary_frame()
    np.testing.assert_allclose(_cols(tab, "dfbetas_"), _cols(sf, "dfb_"), rtol=1e-6, atol=1e-12)
    for mine, theirs in [("cooks_d", "cooks_d"), ("resid_std", "standard_resid"),
                         ("leverage", "hat_diag")]:
        np.testing.assert_allclose(tab[mine], sf[theirs], rtol=1e-7)
    assert "resid_student" not in tab


def test_exact_method_and_generic_model(infert_fit):
    ref = pd.read_csv(REF / "glm_infert.csv")
    exact = infert_fit.influence_summary(method="exact")
    loo = ref[[c for c in ref.columns if c.startswith("loo.")]].to_numpy()
    np.testing.assert_allclose(_cols(exact, "dfbeta_"), infert_fit.params.to_numpy() - loo,
                               rtol=1e-6, atol=1e-9)
    m = infert_fit.model

    def loss(p, d):
        eta = d["X"] @ p
        return np.log1p(np.exp(eta)) - d["y"] * eta

    gen = me.MEstimator(loss, {"y": m.endog, "X": m.exog},
                        param_names=infert_fit.param_names).fit(xtol=1e-14)
    tg = gen.influence_summary()
    ti = infert_fit.influence_summary()
    assert "resid_pearson" not in tg
    for c in tg.columns:
        np.testing.assert_allclose(tg[c], ti[c], rtol=1e-5, atol=1e-10)


def test_plots(infert_fit, stack_fit):
    import matplotlib
    matplotlib.use("Agg")
    from mestimate.plotting import plot_influence_index, plot_loo_accuracy

    fig = plot_influence_index(infert_fit, "age", n_label=3)
    assert len(fig.axes[0].texts) == 3
    acc = stack_fit.loo_accuracy()
    fig2 = plot_loo_accuracy(acc, stack_fit.param_names[1])
    assert len(fig2.axes[0].collections) == 2
    with pytest.raises(me.MEstimateError, match="unknown parameter"):
        plot_loo_accuracy(acc, "nope")
