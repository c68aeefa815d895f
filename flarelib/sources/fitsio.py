"""Read SMARP/SHARP CEA cutouts, and tell a complete FITS file from a truncated or corrupt one."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np


class CorruptFile(ValueError):
    """A file that is not a complete, readable FITS file."""


def _data(path: Path) -> tuple[np.ndarray, dict]:
    from astropy.io import fits
    from astropy.utils.exceptions import AstropyUserWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", AstropyUserWarning)  # "File may have been truncated" is an error here
            with fits.open(path, checksum=True) as hdus:
                hdu = next((h for h in hdus if h.data is not None), None)
                if hdu is None:
                    raise CorruptFile(f"{path}: no image data in any HDU")
                return np.array(hdu.data, dtype=float), dict(hdu.header)
    except CorruptFile:
        raise
    except Exception as error:  # astropy raises OSError, ValueError, TypeError or warnings for bad files
        raise CorruptFile(f"{path}: not a complete FITS file ({type(error).__name__}: {error})") from None


def verify_fits(path: Path) -> None:
    """Raise CorruptFile unless the file opens, its checksums (if any) hold and its data read fully."""
    _data(Path(path))


def read_cutout(magnetogram: Path, bitmap: Path) -> tuple[np.ndarray, np.ndarray]:
    """A CEA magnetogram (G) and its bitmap, as arrays of the same shape."""
    field, _ = _data(Path(magnetogram))
    mask, _ = _data(Path(bitmap))
    if field.shape != mask.shape:
        raise CorruptFile(f"{magnetogram}: shape {field.shape} differs from its bitmap's {mask.shape}")
    return field, mask.astype(np.int16)


def read_header(path: Path) -> dict:
    return _data(Path(path))[1]
