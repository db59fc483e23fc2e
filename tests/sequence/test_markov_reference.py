"""MarkovChain against values computed independently in base R (tests/reference/markov/make_markov.R)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mestimate.sequence.markov import MarkovChain

REF = Path(__file__).resolve().parents[1] / "reference" / "markov"
DOCS = {"a": "the cat sat on the mat", "b": "a hat on a cat", "c": "that man ate the oats",
        "d": "to", "e": "the tan cat ran at the man"}
QUERY = ("the c", "at sat")


@pytest.fixture(scope="module")
def res():
    return MarkovChain(DOCS, order=2, smoothing=0.5).fit()


def test_transition_probabilities(res):
    ref = pd.read_csv(REF / "transition_probs.csv", keep_default_na=False).set_index("context")
    assert sorted(ref.index) == sorted(res.contexts)
    assert list(ref.columns) == res.alphabet
    ours = np.vstack([res.transition_probs(c).to_numpy() for c in ref.index])
    np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-13)


def test_log_prob_and_exact_loo(res):
    ref = pd.read_csv(REF / "loo_log_prob.csv").set_index("document")["log_prob"]
    assert res.log_prob(*QUERY) == pytest.approx(ref["(full)"], rel=1e-13)
    loo = res.loo_log_prob(*QUERY)
    np.testing.assert_allclose(loo[list(DOCS)].to_numpy(), ref[list(DOCS)].to_numpy(), rtol=1e-13)


def test_scores_against_r_finite_differences(res):
    ref = pd.read_csv(REF / "scores_fd.csv").set_index("document")["score"]
    ours = res.attribute(*QUERY, top=None).set_index("document")["score"]
    np.testing.assert_allclose(ours[ref.index].to_numpy(), ref.to_numpy(), rtol=1e-7, atol=1e-7)
