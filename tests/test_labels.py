"""Window labels on hand-made flare timelines (Table 2 of the study)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.goes import class_to_flux
from flarelib.events import label_windows

T = pd.Timestamp("2012-03-01 00:00")
H = pd.Timedelta(hours=1)


def labels(flares: list[tuple[float, str]], end_hours: float = 24.0) -> pd.Series:
    times = np.array([T + h * H for h, _ in flares], dtype="datetime64[ns]")
    flux = np.array([class_to_flux(c) for _, c in flares])
    return label_windows(np.array([T + end_hours * H], dtype="datetime64[ns]"), times, flux).iloc[0]


def test_every_cell_of_table_2():
    # window: observation [0 h, 24 h], prediction [24 h, 48 h] (closed, as the authors' code)
    cases = {
        ("QUIET", "QUIET"): ([], False),
        ("QUIET", "WEAK"): ([(30, "C9.9")], None),
        ("QUIET", "STRONG"): ([(30, "M1.0")], True),
        ("WEAK", "QUIET"): ([(10, "B2.0")], None),
        ("WEAK", "WEAK"): ([(10, "B2.0"), (40, "C1.0")], None),
        ("WEAK", "STRONG"): ([(10, "C5.0"), (40, "X1.0")], True),
        ("STRONG", "QUIET"): ([(10, "M3.0")], None),
        ("STRONG", "WEAK"): ([(10, "M3.0"), (30, "C1.0")], None),
        ("STRONG", "STRONG"): ([(10, "M3.0"), (30, "M1.1")], True),
    }
    for (obs, pred), (flares, label) in cases.items():
        row = labels(flares)
        assert (row.observation, row.prediction) == (obs, pred), (obs, pred)
        assert (None if pd.isna(row.label) else bool(row.label)) == label, (obs, pred)


def test_boundaries():
    assert labels([(24, "M5.0")]).observation == "STRONG"  # a flare at the window's end is observed
    assert labels([(24, "M5.0")]).label == True  # noqa: E712 - and predicted: in both periods, as the authors count it
    assert labels([(48, "M5.0")]).prediction == "STRONG"  # the prediction period's last instant counts
    assert labels([(48.01, "M5.0")]).prediction == "QUIET"
    assert labels([(0, "C1.0")]).observation == "WEAK"  # the observation period opens at t - 24 h itself
    assert labels([(-0.01, "C1.0")]).observation == "QUIET"
    assert labels([(30, "C9.9")]).prediction == "WEAK" and labels([(30, "M1.0")]).prediction == "STRONG"
