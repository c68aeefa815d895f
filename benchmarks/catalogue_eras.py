"""The real flare catalogues by solar cycle: per GOES class, how many flares each era lists and the share
the catalogue gives a NOAA region, and the B and C flares with a region per M flare with one.

Weak flares decide whether a region's observation day is QUIET (Table 2 of the study), so an era that lists
more of them per M flare has fewer positives after a QUIET day: a candidate for the difference between the
study's SHARP and SMARP shares that the teaching world, one flare process for both instruments, lacks.
Reads the NGDC and SWPC catalogues of the data folder (`flarelib data fetch goes`).

    .venv/bin/python benchmarks/catalogue_eras.py
"""

from __future__ import annotations

import pandas as pd

from flarelib.sources.archive import merged_catalogue
from flarelib.sources.registry import data_dir

# cycle 24 up to 2016: the NGDC reports, the only catalogue with B flares, end in 2017-06
ERAS = {"cycle 23 (1996-2009)": (1996, 2009), "cycle 24 (2010-2016)": (2010, 2016)}


def by_era(flares: pd.DataFrame) -> pd.DataFrame:
    """Flares of classes B to X per era and class, with the share given a NOAA region."""
    year, letter = flares.start_time.dt.year, flares.goes_class.astype(str).str[0]
    era = pd.Series(pd.NA, index=flares.index, dtype="object")
    for name, (first, last) in ERAS.items():
        era[year.between(first, last)] = name
    frame = pd.DataFrame({"era": era, "class": letter, "with region": flares.noaa_ar.notna()})
    frame = frame[frame["class"].isin(list("BCMX")) & frame.era.notna()]
    return frame.groupby(["era", "class"])["with region"].agg(flares="size", share_with_region="mean")


if __name__ == "__main__":
    table = by_era(merged_catalogue(data_dir()).flares)
    print(table.round(3).to_string())
    attributed = (table.flares * table.share_with_region).unstack()
    print("flares with a region per M flare with one:")
    print(attributed.div(attributed["M"], axis=0).round(2).to_string())
