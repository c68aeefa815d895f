"""The bipolar magnetic region of Yeates (2020), Eq. 18 of the study.

    B(s, phi) = -B0 (phi / rho) exp(-(phi^2 + 2 arcsin^2 s) / (a rho)^2)

with s the sine of latitude, phi longitude (radians, from the BMR's centre), rho the polarity
separation (radians), a = 0.56 the size factor matched to SHARP, and a tilt gamma that rotates the
bipole's axis from the equator. The synthetic world builds its regions from these, and the
attribution chapter renders grids of them at the CNN's input geometry.
"""

from __future__ import annotations

import numpy as np

SIZE_FACTOR = 0.56


def bmr_field(
    phi: np.ndarray,
    latitude: np.ndarray,
    b0: float,
    rho: float,
    tilt: float = 0.0,
    a: float = SIZE_FACTOR,
) -> np.ndarray:
    """Radial field (G) of a BMR centred at the origin; angles in radians.

    `latitude` is arcsin(s). The tilt rotates the (phi, latitude) frame by gamma, so that the
    leading (negative for B0 > 0) polarity sits at +phi on the tilted axis.

    Parameters
    ----------
    phi, latitude : longitude and latitude of each pixel from the centre (radians).
    b0 : the amplitude (G).
    rho : the half-separation of the polarities (radians).
    tilt : the tilt angle (radians).
    a : the size factor of Yeates (2020), Eq. 18.
    """
    cos, sin = np.cos(tilt), np.sin(tilt)
    along = cos * phi + sin * latitude
    across = -sin * phi + cos * latitude
    return -b0 * (along / rho) * np.exp(-(along**2 + 2 * across**2) / (a * rho) ** 2)


def peak_offset(rho: float, a: float = SIZE_FACTOR) -> float:
    """Distance of each pole's extremum from the centre along the axis: a rho / sqrt(2)."""
    return a * rho / np.sqrt(2)


def peak_field(b0: float, a: float = SIZE_FACTOR) -> float:
    """The field strength ``|B|`` at each pole: B0 a / sqrt(2) exp(-1/2), independent of rho."""
    return b0 * a / np.sqrt(2) * np.exp(-0.5)
