"""Chapter 07's new pieces: Holm within a question with identical tests counted once, the hit rates by
what a region did in its observation period, the effects' intervals and the verdict of a finding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from flarelib import significance as sig, study


def test_identical_tests_are_counted_once_in_their_family():
    tests = pd.DataFrame([
        {"metric": "ACC", "model": "LSTM", "comparison": "F > S", "t": 2.514074, "p": 0.016544},
        {"metric": "AUC", "model": "LSTM", "comparison": "F > S", "t": 4.842485, "p": 0.000459},
        {"metric": "TSS", "model": "LSTM", "comparison": "F > S", "t": 2.5140742, "p": 0.0165441},  # ACC's test again
        {"metric": "BSS", "model": "LSTM", "comparison": "F > S", "t": 1.775082, "p": 0.054812},
    ])
    out = sig.holm_distinct(tests)
    assert out["same test as"].tolist() == ["", "", "ACC", ""]
    # Holm over the three distinct p-values by hand: 3 x 0.000459, 2 x 0.016544, 1 x 0.054812
    expected = {"AUC": 3 * 0.000459, "ACC": 2 * 0.016544, "BSS": 0.054812}
    got = out.set_index("metric")["p Holm"]
    for metric, value in expected.items():
        assert got[metric] == pytest.approx(value)
    assert got["TSS"] == got["ACC"]
    # Counting the repeat as a test of its own would have adjusted by 4, not 3.
    assert sig.holm(tests.p.to_numpy())[1] == pytest.approx(4 * 0.000459)


def test_each_question_is_its_own_family():
    seeds = range(4)
    rows = []
    for s in seeds:
        for d, m, v in (("FUSED_SHARP", "LSTM", 0.8 + 0.01 * s), ("SHARP_ONLY", "LSTM", 0.7 + 0.02 * s),
                        ("FUSED_SHARP", "PERSIST_ANY", 0.75), ("SHARP_ONLY", "PERSIST_ANY", 0.75 + 0.01 * s)):
            rows.append({"dataset": d, "model": m, "seed": s, "ACC": (v + 1) / 2, "TSS": v,  # balanced: one test
                         "AUC": v + 0.003 * s**2 * (m == "LSTM") * (d == "FUSED_SHARP"),
                         "BSS": v / 2 - 0.002 * (s % 2) * (m == "LSTM") * (d == "FUSED_SHARP")})
    family = sig.test_family(pd.DataFrame(rows), pd.DataFrame())
    assert set(family.table) == {"7", "persistence"}
    for table, part in family.groupby("table"):
        distinct = part[part["same test as"] == ""]
        np.testing.assert_allclose(distinct["p Holm"], sig.holm(distinct.p.to_numpy()))
    persistence = family[(family.table == "persistence") & (family.metric == "TSS")].set_index("dataset")
    assert persistence.loc["FUSED_SHARP", "comparison"] == "LSTM > PERSIST_ANY"
    assert "Do the deep models add anything over the region's recent flares?" in sig.family_note(family)
    # read back from a CSV, the empty "same test as" cells are NaN: the note still counts the repeats
    note = sig.family_note(family.assign(**{"same test as": family["same test as"].replace("", np.nan)}))
    assert note == sig.family_note(family)
    assert "(Table 7: fused > single, per metric and model): 3 distinct tests; 1 rows repeat" in note
    # SHARP_ONLY's LSTM - persistence differences are one linear series in every metric: one test there
    assert "recent flares? (per metric and dataset): 4 distinct tests; 4 rows repeat" in note
    assert (family[family.metric == "TSS"]["same test as"] == "ACC").all()


def test_hit_rates_by_observation_by_hand():
    # One test set: 4 positives after a QUIET observation day (1 caught), 4 after an active one (3 caught),
    # 5 negatives (1 false alarm).
    obs = ["QUIET"] * 4 + ["WEAK", "STRONG", "STRONG", "WEAK"] + ["QUIET"] * 5
    label = [1] * 8 + [0] * 5
    prob = [0.9, 0.2, 0.3, 0.1, 0.8, 0.7, 0.6, 0.4, 0.6, 0.1, 0.2, 0.3, 0.4]
    predictions = pd.DataFrame({"split": "test", "dataset": "SHARP_ONLY", "model": "LSTM", "seed": 0,
                                "observation": obs, "label": label, "prob": prob})
    row = study.by_observation(predictions).iloc[0]
    assert row["hit rate, quiet observation"] == 0.25 and row["hit rate, active observation"] == 0.75
    assert row["false-alarm rate"] == 0.2
    assert (row["positives, quiet observation"], row["positives, active observation"]) == (4, 4)
    with pytest.raises(ValueError, match="no observation column"):
        study.by_observation(predictions.drop(columns="observation"))


def test_the_seed_interval_is_scipys_t_interval():
    a, b = np.array([0.8, 0.82, 0.79, 0.85, 0.81]), np.array([0.78, 0.8, 0.8, 0.79, 0.77])
    mean, low, high = study.seed_interval(a, b)
    d = a - b
    expected = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert mean == pytest.approx(d.mean()) and (low, high) == (pytest.approx(expected[0]), pytest.approx(expected[1]))


def test_the_region_interval_is_zero_width_for_identical_forecasts_and_excludes_zero_for_a_clear_gain():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(3):
        for region in range(30):
            y = region % 2
            for k in range(4):
                rows.append({"split": "test", "seed": seed, "series": "SHARP", "arpnum": region, "t_end": k, "label": y,
                             "model": "A", "prob": 0.9 if y else 0.1})
                rows.append({"split": "test", "seed": seed, "series": "SHARP", "arpnum": region, "t_end": k, "label": y,
                             "model": "B", "prob": rng.uniform()})
    predictions = pd.DataFrame(rows)
    low, high = study.region_interval(predictions, {"model": "A"}, {"model": "B"}, n_boot=100)
    assert 0 < low < high
    assert study.region_interval(predictions, {"model": "A"}, {"model": "A"}, n_boot=50) == (0.0, 0.0)


def test_the_verdicts():
    assert study.verdict(0.05, 0.01, 0.09, 0.01, 10) == "reproduced"
    assert study.verdict(0.05, -0.01, 0.09, 0.2, 10) == "not significant with 10 experiments"
    assert study.verdict(-0.05, -0.09, -0.01, 1.0, 10) == "reversed"
    assert study.verdict(float("nan"), float("nan"), float("nan"), float("nan"), 0) == "not measurable with 0 scored experiments"
    assert study.verdict(0.1, float("nan"), float("nan"), float("nan"), 1) == "not measurable with 1 scored experiment"
    assert study.verdict(0.05, 0.01, 0.09, 0.01, 10, measurable=False) == "not measurable on this source"
    assert study.verdict(0.01, -0.02, 0.04, 0.4, 10, persistence=True) == "explained by persistence"
    assert study.verdict(0.2, 0.1, 0.3, 0.001, 10, persistence=True) == "adds beyond persistence"
