"""GOES X-ray flare classes: parsing to peak flux, and the study's activity thresholds.

A class is a letter (A, B, C, M, X: peak 1-8 Angstrom flux of 1e-8 ... 1e-4 W m^-2) times a
magnitude: "M1.0" is 1.0e-5 W m^-2, "X17.2" is 1.72e-3. Malformed or unknown classes are
reported and excluded, never coerced (the study drops 61 events of unknown class).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

LETTER_FLUX = {"A": 1e-8, "B": 1e-7, "C": 1e-6, "M": 1e-5, "X": 1e-4}
STRONG_FLUX = 1e-5  # M1.0: the study's threshold of a strong flare
_CLASS = re.compile(r"^\s*([ABCMX])\s*(\d+(?:\.\d*)?)?\s*$", re.IGNORECASE)


class GoesClassError(ValueError):
    """A class string that is not a GOES class."""


def class_to_flux(text: str) -> float:
    """Peak flux (W m^-2) of a class string such as 'M1.0', 'X17', 'c9.9' or 'B' (magnitude 1)."""
    match = _CLASS.match(str(text))
    if not match:
        raise GoesClassError(f"{text!r} is not a GOES class (a letter A, B, C, M or X and a magnitude)")
    letter, magnitude = match.group(1).upper(), match.group(2)
    value = float(magnitude) if magnitude else 1.0
    if value <= 0:
        raise GoesClassError(f"{text!r} has a non-positive magnitude")
    return LETTER_FLUX[letter] * value


def flux_to_class(flux: float) -> str:
    """The class string of a peak flux, with one decimal ('M1.0'); X keeps growing past X9.9."""
    if not np.isfinite(flux) or flux <= 0:
        raise GoesClassError(f"peak flux {flux!r} has no GOES class")
    for letter in "XMCB":
        if flux >= LETTER_FLUX[letter] * (1 - 1e-9):
            return f"{letter}{flux / LETTER_FLUX[letter]:.1f}"
    return f"A{flux / LETTER_FLUX['A']:.1f}"


@dataclass(frozen=True)
class ParsedClasses:
    """Peak fluxes of the rows that parsed, and the rows that did not (with the reason)."""

    flux: pd.Series  # indexed like the input, NaN where the class did not parse
    rejected: pd.DataFrame  # columns: class, reason


def parse_classes(classes: pd.Series) -> ParsedClasses:
    """Parse a column of class strings; bad rows are listed, not guessed."""
    flux = pd.Series(np.nan, index=classes.index, dtype=float)
    bad: dict[object, tuple[object, str]] = {}
    for index, text in classes.items():
        if pd.isna(text) or not str(text).strip():
            bad[index] = (text, "missing class")
            continue
        try:
            flux[index] = class_to_flux(str(text))
        except GoesClassError as error:
            bad[index] = (text, str(error))
    rejected = pd.DataFrame.from_dict(bad, orient="index", columns=["class", "reason"])
    return ParsedClasses(flux=flux, rejected=rejected)


def is_strong(flux: np.ndarray | float, threshold: float = STRONG_FLUX) -> np.ndarray | bool:
    """At or above `threshold` (the study's M1.0 by default), with a tolerance for the float
    representation of a class such as 'M1.0'."""
    return np.asarray(flux) >= threshold * (1 - 1e-9)


def threshold_flux(flare_class: str) -> float:
    """The peak flux of the `flare_class` parameter ("M1.0", the study's; "C1.0", "X1.0", ...), with an
    error that says what a class looks like."""
    try:
        return class_to_flux(flare_class)
    except GoesClassError as error:
        raise GoesClassError(f"flare_class: {error}; for example C1.0, M1.0 or X1.0") from None


def class_letter(flux: np.ndarray) -> np.ndarray:
    """The GOES letter of each peak flux ('A' ... 'X'), vectorized (the letter of `flux_to_class`)."""
    edges = np.array([LETTER_FLUX[k] for k in "BCMX"]) * (1 - 1e-9)
    return np.asarray(list("ABCMX"))[np.searchsorted(edges, np.asarray(flux, dtype=float), side="right")]
