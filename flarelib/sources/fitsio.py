"""Read SMARP/SHARP CEA cutouts as JSOC writes them, and tell a sound file from a broken download.

JSOC's headers carry cards that are not FITS-standard (`nan` and `inf` values, exponents astropy flags), and
astropy, which rewrites those cards as it reads them, then reports the header CHECKSUM of every
tile-compressed HDU as failed. So integrity is checked on the file's own bytes: the size is a whole
number of 2880-byte blocks, the first block is a FITS header, every HDU's data lie inside the file,
and the FITS checksum convention holds (the ones'-complement sum of an HDU with a CHECKSUM card is
all ones). A sound file passes all four; the damage real downloads show (empty files, zeroed blocks,
data that end early) fails one, and the error names the file and the check.

Header cards astropy can repair are repaired and counted; a card whose value cannot be read as
what it claims to be (a number written so that nothing parses it) leaves that keyword missing, with
a warning naming it, and never makes the file unusable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BLOCK = 2880  # bytes in a FITS block
SPECIAL_FLOATS = {"nan": float("nan"), "-nan": float("nan"), "+nan": float("nan"),  # how JSOC writes a missing
                  "inf": float("inf"), "+inf": float("inf"), "-inf": float("-inf")}  # or an infinite value


class CorruptFile(ValueError):
    """A file that is not a complete, readable FITS file."""


class HeaderCardWarning(UserWarning):
    """A header card whose value cannot be read: its keyword is missing for that record."""


@dataclass(frozen=True)
class FitsImage:
    """The image of a cutout file, its header as keyword -> value, and what reading the header took."""

    path: Path
    data: np.ndarray
    header: dict[str, Any]
    fixed_cards: tuple[str, ...] = field(default=())  # repaired by astropy (values kept)
    unreadable_cards: tuple[str, ...] = field(default=())  # left out of `header`


def ones_complement_sum(raw: bytes) -> int:
    """The 32-bit ones'-complement sum of big-endian words (the FITS checksum convention): an HDU
    whose CHECKSUM card is right sums to 0xFFFFFFFF."""
    total = int(np.frombuffer(raw, dtype=">u4").astype(np.uint64).sum())
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def _start(path: Path, size: int) -> None:
    if size == 0:
        raise CorruptFile(f"{path}: empty file (0 bytes): the download wrote nothing")
    if size % BLOCK:
        raise CorruptFile(f"{path}: ends early: {size:,} bytes is not a whole number of {BLOCK}-byte FITS blocks")
    with open(path, "rb") as handle:
        first = handle.read(BLOCK)
    if not first.startswith(b"SIMPLE  ="):
        zeros = len(first) - len(first.lstrip(b"\0"))
        if zeros:
            raise CorruptFile(f"{path}: starts with zeroed blocks (the first {zeros:,} bytes are 0), not a FITS header")
        raise CorruptFile(f"{path}: does not start with a FITS header (no SIMPLE card)")


@dataclass(frozen=True)
class _Extent:
    header: bytes  # the HDU's header as written
    image: bool  # holds an image (tile-compressed or plain)


def _extents(path: Path) -> list[_Extent]:
    """Check the file's bytes (see `check_integrity`) and return each HDU's header bytes."""
    from astropy.io import fits

    size = path.stat().st_size
    _start(path, size)
    raw = path.read_bytes()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-standard cards are the reader's business, not the check's
            with fits.open(path, disable_image_compression=True, lazy_load_hdus=False) as hdus:
                found = [(i, hdu.fileinfo(), hdu.header) for i, hdu in enumerate(hdus)]
                found = [(i, info, "CHECKSUM" in h, bool(h.get("ZIMAGE")) or (h.get("NAXIS", 0) > 0 and h.get("XTENSION") != "BINTABLE"))
                         for i, info, h in found]
    except Exception as error:  # astropy raises OSError, ValueError or TypeError on a broken structure
        raise CorruptFile(f"{path}: not a readable FITS file ({type(error).__name__}: {error})") from None
    extents = []
    for index, info, has_checksum, image in found:
        end = info["datLoc"] + info["datSpan"]
        if end > size:
            raise CorruptFile(f"{path}: data end early: HDU {index} needs {end:,} bytes, the file has {size:,}")
        if has_checksum and ones_complement_sum(raw[info["hdrLoc"]:end]) != 0xFFFFFFFF:
            raise CorruptFile(f"{path}: HDU {index} fails its FITS checksum: bytes were changed or zeroed after JSOC wrote it")
        extents.append(_Extent(raw[info["hdrLoc"]:info["datLoc"]], image))
    return extents


def check_integrity(path: str | Path) -> None:
    """Raise CorruptFile unless the file is whole: size, first block, every HDU's extent, and the
    FITS checksum of every HDU that carries one, all computed on the bytes as written."""
    _extents(Path(path))


def _card_value(record: str) -> tuple[str, Any, bool, bool]:
    """(keyword, value, fixed, readable) of one 80-character header record: astropy parses and
    repairs what it can; a bare (unquoted) value that only parses as a string was meant as a number
    and is unreadable, but for JSOC's `nan` (missing) and `inf`."""
    from astropy.io import fits

    literal = record[8:10] == "= " and record[10:].lstrip().startswith("'")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        card = fits.Card.fromstring(record)
        try:
            card.verify("fix")
            value = card.value
        except Exception:
            return card.keyword, None, False, False
    fixed = any("Fixed" in str(w.message) for w in caught)
    if isinstance(value, str) and not literal:
        if value.strip().lower() in SPECIAL_FLOATS:
            return card.keyword, SPECIAL_FLOATS[value.strip().lower()], True, True
        return card.keyword, None, fixed, False
    return card.keyword, value, fixed, True


def read_header_cards(header: bytes, path: Path) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
    """A header as written (80-character records up to END) as keyword -> value, the keywords whose
    cards astropy repaired, and those it could not read (left out, each named in a HeaderCardWarning)."""
    text = header.decode("ascii", errors="replace")
    values, fixed, unreadable = {}, [], []
    for start in range(0, len(text), 80):
        record = text[start:start + 80].ljust(80)
        keyword = record[:8].strip()
        if keyword == "END":
            break
        if not keyword or keyword in ("COMMENT", "HISTORY") or record[8:10] != "= ":
            continue
        keyword, value, was_fixed, readable = _card_value(record)
        if not readable:
            unreadable.append(keyword)
            warnings.warn(f"{path}: header card {keyword} cannot be read ({record[10:].strip()!r}); "
                          f"{keyword} is missing for this record", HeaderCardWarning, stacklevel=3)
            continue
        values[keyword] = value
        if was_fixed:
            fixed.append(keyword)
    return values, tuple(fixed), tuple(unreadable)


def read_image(path: str | Path) -> FitsImage:
    """The first HDU with an image (a tile-compressed one decompressed), after `check_integrity`.

    The header is parsed from its bytes as written (for a compressed image, its table's header,
    which holds the record's keywords), card by card, so that astropy's repairs are counted."""
    from astropy.io import fits

    path = Path(path)
    extents = _extents(path)
    index = next((i for i, extent in enumerate(extents) if extent.image), None)
    if index is None:
        raise CorruptFile(f"{path}: no image data in any HDU")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the cards are read below, one by one
            with fits.open(path) as hdus:
                data = np.array(hdus[index].data, dtype=float)
    except Exception as error:
        raise CorruptFile(f"{path}: its image cannot be read ({type(error).__name__}: {error})") from None
    values, fixed, unreadable = read_header_cards(extents[index].header, path)
    return FitsImage(path, data, values, fixed, unreadable)


def verify_fits(path: str | Path) -> None:
    """Raise CorruptFile unless the file is whole and its image reads (the check of a download)."""
    read_image(path)


def read_cutout(magnetogram: str | Path, bitmap: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A CEA magnetogram (G) and its bitmap, as arrays of the same shape."""
    field_, mask = read_image(magnetogram).data, read_image(bitmap).data
    if field_.shape != mask.shape:
        raise CorruptFile(f"{magnetogram}: shape {field_.shape} differs from its bitmap's {mask.shape}")
    return field_, mask.astype(np.int16)


def read_header(path: str | Path) -> dict[str, Any]:
    """The header of a cutout's image HDU as keyword -> value (unreadable cards left out)."""
    return read_image(path).header
