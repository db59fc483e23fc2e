"""Smoke test of the benchmark suite: ``run.py --quick --cases fit`` produces its table.

No timing is asserted (timings on a shared CI machine mean nothing); the test checks that
the harness runs end to end, writes Markdown with the time, memory, ratio and agreement
columns, states every target as met or missed, and that the numbers agree with
statsmodels and the floor (a broken comparison would show up as large differences).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def results_md(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--cases", "fit", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = out / "results.md"
    assert path.exists()
    return path.read_text(encoding="utf-8")


def _table_rows(md: str, title: str) -> list[list[str]]:
    section = md.split(f"### {title}", 1)[1].split("###", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]


def test_table_has_agreement_columns(results_md):
    rows = _table_rows(results_md, "Case 1")
    header = rows[0]
    assert header[:4] == ["implementation", "median time", "peak memory",
                          "time ratio (mestimate / this)"]
    assert [h for h in header if h.startswith("agreement:")] == [
        "agreement: params (max rel. diff.)", "agreement: bse (max rel. diff.)",
        "agreement: influence/n (max rel. diff.)"]
    assert header[-1] == "page faults / call (median)"
    names = [r[0].split(" (")[0] for r in rows[2:]]
    assert names == ["mestimate", "statsmodels", "floor"]
    assert all(r[-1].replace(",", "").isdigit() or r[-1] == "—" for r in rows[2:])


def test_numbers_agree_with_peers(results_md):
    rows = _table_rows(results_md, "Case 1")[2:]
    for row in rows[1:]:
        params, bse, infl = (float(x) for x in row[4:7])
        assert params < 1e-8 and bse < 1e-8, row
        # the IJ influence differs from statsmodels' one-step d_params by 1/(1 − h_t) only
        assert infl < 0.1, row
    corrected = re.search(r"influence/n ÷ \(1 − h_t\) vs statsmodels d_params.*?: ([0-9.e+-]+)",
                          results_md)
    assert corrected and float(corrected.group(1)) < 1e-5


def test_targets_stated_plainly(results_md):
    glance = results_md.split("## Targets at a glance", 1)[1].split("## Details", 1)[0]
    statuses = re.findall(r"\| (met|MISSED|not measured) \|", glance)
    assert len(statuses) == 2  # vs statsmodels and vs the floor
    assert re.search(r"measured ratio [0-9.]+ → \*\*(met|MISSED)\*\*", results_md)
    for value in re.findall(r"\| ([0-9.]+) \| (?:met|MISSED) \|", glance):
        assert np.isfinite(float(value)) and float(value) > 0
