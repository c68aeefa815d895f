"""Names shared across the library: the four keywords, the flare catalogue's columns, one
spelling for a region and for a window's end, and the study's fusion of the two pixel grids (HMI
subsampled 4x to MDI's pixel, Section 2.6), which the teaching world, the sources and the study's
steps all read.

The store's records and the windows use the JSOC spellings: a region is (`SERIES`, `ARPNUM`), a
record's time is `T_REC`, and a window ends at `end` (its last record's `T_REC`). Dataset files and
prediction tables, written for readers outside the library, use lower-case names (`SAMPLE_NAMES`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYWORDS = ["USFLUXL", "MEANGBL", "R_VALUE", "AREA"]  # shared by SMARP and SHARP (Section 2.2)
FLARE_COLUMNS = ["start_time", "peak_time", "end_time", "goes_class", "noaa_ar"]  # a flare catalogue

REGION = ["SERIES", "ARPNUM"]  # "SHARP" or "SMARP", and the HARP or TARP number
WINDOW_END = "end"

SUBSAMPLE = {"SHARP": 4, "SMARP": 1}  # every n-th pixel of a series' cutout lands on MDI's grid

SAMPLE_NAMES = {"SERIES": "series", "ARPNUM": "arpnum", WINDOW_END: "t_end"}  # in dataset files and predictions
SAMPLE_REGION = [SAMPLE_NAMES[column] for column in REGION]
SAMPLE_END = SAMPLE_NAMES[WINDOW_END]


def to_window_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A prediction table with the store's spellings (`series` -> `SERIES`, `arpnum` -> `ARPNUM`,
    `t_end` -> `end`), for code written against windows."""
    return frame.rename(columns={sample: window for window, sample in SAMPLE_NAMES.items()})


def subsample(field: np.ndarray, factor: int) -> np.ndarray:
    """Every `factor`-th pixel in both dimensions (the study's fusion of HMI to MDI resolution)."""
    return np.asarray(field)[::factor, ::factor]
