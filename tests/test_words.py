"""Sentences the chapters print about a run, computed from its numbers: each checked against what it
describes."""

from __future__ import annotations

import re

import numpy as np

from flarelib.models import build_model, count_parameters, size_sentence
from flarelib.stacking import fit_alpha, simplex_beside_grid


def test_the_size_sentence_states_both_counts_and_their_ratio():
    said = size_sentence(32, 16)
    counts = [int(n.replace(",", "")) for n in re.findall(r"([\d,]{5,}) trainable parameters and the LSTM ([\d,]+)", said)[0]]
    assert counts == [count_parameters(build_model("CNN", 32, 16)), count_parameters(build_model("LSTM"))]
    assert said.endswith("about the same size.")  # 51,010 against 51,330: not "many more"
    big = size_sentence(128, 64)
    ratio = count_parameters(build_model("CNN", 128, 64)) / count_parameters(build_model("LSTM"))
    assert big.endswith(f"{ratio:.1f} times the LSTM's.")


def test_the_simplex_sentence_compares_like_with_like():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.6 + rng.normal(0.2, 0.2, 400), 0.01, 0.99)
    q = np.clip(y * 0.3 + rng.normal(0.35, 0.25, 400), 0.01, 0.99)
    said = simplex_beside_grid(y, p, q)
    alpha = fit_alpha("CROSS_ENTROPY", y, p, q)
    assert f"the grid's alpha by cross-entropy: {alpha:.3f}" in said
    assert said.endswith("they agree, as they must by the same criterion.")


def test_a_long_injected_parameter_is_wrapped_to_the_column():
    from flarelib.compendium.book import wrapped_assignment

    names = ["CLIM", "LR_LAST", "GB_LAST", "LR_SUMMARY", "GB_SUMMARY", "GB_IMAGE", "PERSIST_ANY", "PERSIST_STRONG"]
    line = f"baselines = {names!r}"
    assert len(line) > 88
    wrapped = wrapped_assignment(line)
    assert all(len(part) <= 88 for part in wrapped.splitlines())
    namespace: dict = {}
    exec(wrapped, namespace)  # the same value, formatted
    assert namespace["baselines"] == names
    assert wrapped_assignment("seed = 0") == "seed = 0" and wrapped_assignment("x = " + "1" * 90) == "x = " + "1" * 90


def test_the_learning_curve_in_words():
    import pandas as pd

    from flarelib.study.words import learning_words

    curve = pd.DataFrame({"training windows": [100, 400], "CNN": [0.2, 0.5], "GB_IMAGE": [0.3, 0.6]})
    said = learning_words(curve, "CNN", "GB_IMAGE")[0]
    assert "With 100 training windows the CNN scored test TSS 0.200 and GB_IMAGE 0.300" in said
    assert "gained 0.300 from the extra windows and trails the image baseline by 0.100." in said
    flat = curve.assign(CNN=[0.4, 0.4], GB_IMAGE=[0.1, 0.4])
    assert "gained nothing from the extra windows and ties the image baseline." in learning_words(flat, "CNN", "GB_IMAGE")[0]


def test_the_attribution_words_follow_the_tables():
    import pandas as pd

    from flarelib.study.words import attribution_words

    trends = pd.DataFrame({"Spearman": [0.8, -0.5]})
    layers = pd.DataFrame({"layer": ["conv 1", "conv 2"], "index": [0, 1], "map side (px)": [8, 2],
                           "maps alike (mean r)": [0.3, 0.95], "empty maps": [0.0, 0.0]})
    rises = pd.DataFrame({"ARPNUM": [4, 6], "forecast when quiet": [0.1, 0.5], "forecast when imminent": [0.7, 0.52],
                          "rise": [0.6, 0.02]})
    frames = pd.DataFrame({"ratio": [5.0, 7.0, 6.0], "|B| ratio": [2.0, 2.5, 1.5], "ratio - |B| ratio": [3.0, 4.5, 4.5]})
    said = attribution_words(trends, layers, 0, rises, 0.1, 2, 1e-4, frames)
    assert said[0].endswith("as a CNN that learned the world's rule should.")
    assert "maps 2 pixels a side" in said[1] and "conv 1, 8 pixels a side (r = 0.30)" in said[1]
    assert "Of 2 candidate regions, 1 had an out-of-fold forecast that rose by at least 0.1; explained: HARP 4 (0.100 to 0.700)" in said[2]
    assert "6.0 times the pixel share there and the |B| control 2.0 times, over 3 frames" in said[3]
    assert "more than a map of |B| alone puts there" in said[3]
    none = attribution_words(trends.assign(Spearman=[-0.2, 0.3]), layers, None, rises, 0.9, 2, float("nan"), pd.DataFrame())
    assert "not as the world's rule would have it" in none[0] and "Grad-CAM is not shown" in none[1]
    assert none[-1].startswith("None of the 2 candidate regions")
    rose = rises.assign(rise=[0.6, 0.3], **{"forecast when imminent": [0.7, 0.8]})
    assert "2 had an out-of-fold forecast that rose by at least 0.1; the 1 that rose most are explained: HARP 4 (" in \
        attribution_words(trends, layers, 0, rose, 0.1, 1, 1e-4, frames)[2]
