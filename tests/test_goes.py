"""GOES classes: parsing, round trip, the M1.0 boundary, and bad classes reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarelib.goes import GoesClassError, class_to_flux, flux_to_class, is_strong, parse_classes


@pytest.mark.parametrize(
    "text, flux",
    [("M1.0", 1e-5), ("C9.9", 9.9e-6), ("X17.2", 1.72e-3), ("x2", 2e-4), ("B", 1e-7), (" A5.5 ", 5.5e-8),
     ("M 1.2", 1.2e-5)],
)
def test_class_to_flux(text, flux):
    assert class_to_flux(text) == pytest.approx(flux, rel=1e-12)


@pytest.mark.parametrize("text", ["", "Z1.0", "M-1", "M1.0.1", "1.0", "MX", "M0", "unknown"])
def test_malformed_classes_are_errors_that_quote_the_string(text):
    with pytest.raises(GoesClassError, match=repr(text).replace("(", r"\(").replace(".", r"\.")):
        class_to_flux(text)


def test_round_trip_and_the_m1_boundary():
    for text in ["A1.0", "B3.4", "C9.9", "M1.0", "M9.9", "X1.0", "X28.0"]:
        assert flux_to_class(class_to_flux(text)) == text
    assert bool(is_strong(class_to_flux("M1.0"))) and not bool(is_strong(class_to_flux("C9.9")))


def test_parse_classes_reports_bad_rows_and_keeps_the_index():
    parsed = parse_classes(pd.Series(["M1.0", "", None, "Q3", "X1"], index=[10, 11, 12, 13, 14]))
    assert parsed.flux.loc[[10, 14]].tolist() == pytest.approx([1e-5, 1e-4])
    assert np.isnan(parsed.flux.loc[[11, 12, 13]]).all()
    assert parsed.rejected.index.tolist() == [11, 12, 13]
    assert parsed.rejected.loc[12, "reason"] == "missing class"
    assert "'Q3' is not a GOES class" in parsed.rejected.loc[13, "reason"]
