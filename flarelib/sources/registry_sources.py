"""Where each public file the project reads comes from: a relative path under the data folder mapped to
its public address. `flarelib.sources.registry.write_registry(copy)` writes `registry.csv` (path,
SHA-256, size, address) from a verified copy; the registry itself is the CSV, read by
`flarelib.sources.registry`."""

from __future__ import annotations

from urllib.parse import quote

# The study authors' repository at the commit whose datasets/ folder holds the window tables.
AUTHORS = "https://raw.githubusercontent.com/ZeyuSun/flare-prediction-smarp/3f6c20b1143804643e33ddb5c4d26693c2b40db6/datasets"
NGDC = "https://www.ngdc.noaa.gov/stp/space-weather/solar-data/solar-features/solar-flares/x-rays/goes/xrs"
SWPC = "https://raw.githubusercontent.com/hayesla/flare_forecast_proj/b2ddaa2c69d3fab780eb5b719525e2fa5ef1fb87/databases"
SMARPS = "https://raw.githubusercontent.com/mbobra/SMARPs/fa72a493bdcc30059442958cc880569c5d2035cf/example_gallery/files"
HMI_FILES = "https://raw.githubusercontent.com/fernandesi2244/HMI-Data-Analysis/7d56429/" + quote("HMI Downloaded Files")

# Groups, by the first part of a file's relative path (what `flarelib data fetch GROUP` names).
DATA_GROUPS = {
    "windows": "arnet-windows-3f6c20b/",
    "goes": "goes/",
    "smarp-cutout": "fits/mdi.",
    "sharp-cutouts": "fits/sharp-ar11429/hmi.",
    "sharp-damaged": "fits/sharp-ar11429/damaged/",
}


def group_of(name: str) -> str:
    return next(group for group, prefix in DATA_GROUPS.items() if name.startswith(prefix))


def public_address(name: str) -> str:
    """The public address of a file of the data folder, by its relative path."""
    head, _, rest = name.partition("/")
    last = name.rsplit("/", 1)[-1]
    if head == "arnet-windows-3f6c20b":
        return f"{AUTHORS}/{rest}"
    if name.startswith("goes/ngdc-xrs-reports/"):
        return f"{NGDC}/{last}"
    if name.startswith("goes/swpc/"):
        return f"{SWPC}/{last}"
    if name.startswith("fits/mdi."):
        return f"{SMARPS}/{last}"
    if name.startswith("fits/sharp-ar11429/"):
        return f"{HMI_FILES}/{quote(last)}"  # damaged/ files are the same downloads, as that repository committed them
    raise KeyError(f"no public address is known for {name}")
