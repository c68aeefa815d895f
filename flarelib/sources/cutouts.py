"""One SMARP or SHARP cutout as a reader sees it: our four keywords beside the pipeline's header, the
image as the CNN sees it, and what reading the header took (cards repaired, cards unreadable).

SHARP headers carry R_VALUE and AREA of the line-of-sight magnetogram, but their USFLUX and MEANGBZ
come from the vector field's Bz, so a SHARP header has no value to compare our USFLUXL and MEANGBL
with: those are shown as missing (None), never as a failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarelib.keywords import area_mh, compute_keywords, r_value, region_mask
from flarelib.schema import KEYWORDS
from flarelib.sources.fitsio import CorruptFile, FitsImage, read_image
from flarelib.sources.files import atomic_path

REAL_SMARP = "fits/mdi.smarp_cea_96m.13520.20100714_124800_TAI"  # under the data folder
REAL_SHARP = "fits/sharp-ar11429"  # real hmi.sharp_cea_720s cutouts around the X5.4 flare of 2012-03-07


@dataclass(frozen=True)
class Cutout:
    """A record's magnetogram and bitmap, read and checked."""

    stem: Path
    magnetogram: FitsImage
    bitmap: FitsImage

    @property
    def series(self) -> str:
        return "SHARP" if self.stem.name.startswith("hmi.") else "SMARP"

    @property
    def cdelt_deg(self) -> float:
        return float(self.magnetogram.header["CDELT1"])

    def keywords(self) -> dict[str, float]:
        """Our USFLUXL, MEANGBL, R_VALUE and AREA from the magnetogram and the bitmap's region."""
        return compute_keywords(self.magnetogram.data, region_mask(self.bitmap.data), self.cdelt_deg)

    def cnn_image(self, size: int = 128) -> np.ndarray:
        """The image as the CNN reads it: HMI subsampled 4x to MDI's pixel, resized to size x size."""
        from flarelib.images import cnn_input

        return cnn_input(np.nan_to_num(self.magnetogram.data), self.series, size)


def stem_files(stem: str | Path) -> tuple[Path, Path]:
    """`<stem>.magnetogram.fits` and `<stem>.bitmap.fits` (a stem may also name one of them)."""
    stem = Path(stem)
    for suffix in (".magnetogram.fits", ".bitmap.fits"):
        if stem.name.endswith(suffix):
            stem = stem.with_name(stem.name[: -len(suffix)])
    return stem.with_name(stem.name + ".magnetogram.fits"), stem.with_name(stem.name + ".bitmap.fits")


def read_cutout_files(stem: str | Path) -> Cutout:
    """Both files of a record, each checked (a broken one raises `CorruptFile` naming it)."""
    magnetogram, bitmap = stem_files(stem)
    images = {path: read_image(path) for path in (magnetogram, bitmap) if path.exists()}  # a broken file raises first
    for path in (magnetogram, bitmap):
        if path not in images:
            raise FileNotFoundError(f"{path} does not exist: a cutout needs its magnetogram and its bitmap")
    cutout = Cutout(magnetogram.with_name(magnetogram.name[: -len(".magnetogram.fits")]), images[magnetogram],
                    images[bitmap])
    if cutout.magnetogram.data.shape != cutout.bitmap.data.shape:
        raise ValueError(f"{magnetogram}: shape {cutout.magnetogram.data.shape} differs from its bitmap's "
                         f"{cutout.bitmap.data.shape}")
    return cutout


def _header_number(header: dict[str, Any], key: str) -> float | None:
    value = header.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) else None


def keyword_table(cutout: Cutout) -> pd.DataFrame:
    """Our keywords beside the header's: columns ours, header (NaN where the header has none),
    relative difference, and the difference in dex for R_VALUE (a log10)."""
    ours = cutout.keywords()
    header = {k: _header_number(cutout.magnetogram.header, k) for k in KEYWORDS}
    table = pd.DataFrame({"ours": ours, "header": pd.Series(header, dtype=float)}).loc[KEYWORDS]
    table["relative difference"] = (table.ours - table.header) / table.header
    table["difference (dex, R_VALUE)"] = (table.ours - table.header).where(table.index == "R_VALUE")
    table.attrs.update(mask_pixels=int(region_mask(cutout.bitmap.data).sum()),
                       pipeline_mask_pixels=cutout.magnetogram.header.get("CMASKL"))
    return table


def describe(cutout: Cutout) -> dict[str, Any]:
    """What `flarelib cutout --json` prints: each keyword (ours, header or None), and the cards the
    reader repaired or could not read in either file."""
    table = keyword_table(cutout)
    keywords = {k: {"ours": float(row.ours), "header": None if pd.isna(row.header) else float(row.header)}
                for k, row in table.iterrows()}
    cards = lambda attribute: sorted({*getattr(cutout.magnetogram, attribute), *getattr(cutout.bitmap, attribute)})
    return {"keywords": keywords, "fixed_cards": cards("fixed_cards"), "unreadable_cards": cards("unreadable_cards")}


def to_json(cutout: Cutout) -> str:
    return json.dumps(describe(cutout), indent=2)


def save_png(cutout: Cutout, path: str | Path, size: int = 128) -> Path:
    """The magnetogram as JSOC gives it beside the image as the CNN sees it, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    for ax, image, title in ((axes[0], cutout.magnetogram.data, f"{cutout.stem.name} (native)"),
                             (axes[1], cutout.cnn_image(size), f"as the CNN sees it ({size} x {size})")):
        ax.imshow(image, origin="lower", cmap="gray", vmin=-1000, vmax=1000)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    path = Path(path)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def agreement(folder: str | Path) -> pd.DataFrame:
    """Our R_VALUE (magnetogram only: R needs no bitmap) and AREA (complete records) against the SHARP
    pipeline's header, for every sound magnetogram of a folder."""
    rows = []
    for magnetogram in sorted(Path(folder).glob("hmi.sharp_cea_720s.*.magnetogram.fits")):
        try:
            image = read_image(magnetogram)
        except CorruptFile:
            continue
        _, _, harp, stamp = magnetogram.name.split(".")[:4]
        row = {"HARP": int(harp), "T_REC": pd.to_datetime(stamp, format="%Y%m%d_%H%M%S_TAI"),
               "R_VALUE ours": r_value(image.data, float(image.header["CDELT1"])),
               "R_VALUE header": _header_number(image.header, "R_VALUE"), "AREA ours": np.nan,
               "AREA header": _header_number(image.header, "AREA")}
        try:
            bitmap = read_image(stem_files(magnetogram)[1])
            row["AREA ours"] = area_mh(region_mask(bitmap.data), float(image.header["CDELT1"]))
        except (CorruptFile, FileNotFoundError):
            pass
        rows.append(row)
    table = pd.DataFrame(rows)
    table["R_VALUE difference (dex)"] = table["R_VALUE ours"] - table["R_VALUE header"]
    table["AREA relative difference"] = (table["AREA ours"] - table["AREA header"]) / table["AREA header"]
    return table


def plot_region_records(folder: str | Path, harp: int, caption: str, size: int = 128) -> "matplotlib.figure.Figure":
    """Every sound magnetogram of one HARP in a folder, as JSOC gives it (top) and as the CNN sees
    it (bottom), each titled with its time and our R_VALUE beside the pipeline's."""
    import matplotlib.pyplot as plt

    from flarelib.images import cnn_input

    files = sorted(Path(folder).glob(f"hmi.sharp_cea_720s.{harp}.*.magnetogram.fits"))
    images = []
    for path in files:
        try:
            images.append((path, read_image(path)))
        except CorruptFile:
            continue
    from flarelib.plots.layout import SMALLEST_PT, WIDTH, caption_title

    rows = max(1, -(-len(images) // 2))  # two records a row, each as JSOC gives it and as the CNN sees it
    fig, axes = plt.subplots(rows, 4, figsize=(WIDTH, 2.6 * rows + 0.6), squeeze=False)
    for k, (path, image) in enumerate(images):
        native, seen = axes[k // 2, 2 * (k % 2)], axes[k // 2, 2 * (k % 2) + 1]
        when = pd.to_datetime(path.name.split(".")[3], format="%Y%m%d_%H%M%S_TAI")
        ours, header = r_value(image.data, float(image.header["CDELT1"])), _header_number(image.header, "R_VALUE")
        native.imshow(image.data, origin="lower", cmap="gray", vmin=-1000, vmax=1000)
        native.set_title(f"{when:%Y-%m-%d %H:%M} TAI\nR {ours:.3f} (pipeline {header:.3f})", fontsize=SMALLEST_PT)
        seen.imshow(cnn_input(np.nan_to_num(image.data), "SHARP", size), origin="lower", cmap="gray",
                    vmin=-1000, vmax=1000)
        seen.set_title(f"as the CNN sees it\n({size} px)", fontsize=SMALLEST_PT)
    for ax in axes.flat[2 * len(images):]:
        ax.remove()
    for ax in axes.flat[: 2 * len(images)]:
        ax.set_xticks([]), ax.set_yticks([])
    caption_title(fig, f"HARP {harp}, line-of-sight field (+-1000 G). {caption}")
    fig.tight_layout()
    return fig
