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
