"""Splits by active region, undersampling, standardization and the four datasets (Sections 2.4-2.5, 4.1).

SHARP_ONLY / SMARP_ONLY: 20% of the series' regions form the test set, 20% of the rest the
validation set, the rest the training set. FUSED_SHARP / FUSED_SMARP: the same validation and test
sets, and every region of the other series joins the training set. In every split the majority
class is randomly undersampled to the minority's size. Every step is a function of the seed, and
the validation and test sets of a seed are the same for a series' single and fused datasets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from flarelib.seeding import rng_for
from flarelib.sources.files import atomic_path

DATASETS = {"SHARP_ONLY": ("SHARP", False), "FUSED_SHARP": ("SHARP", True),
            "SMARP_ONLY": ("SMARP", False), "FUSED_SMARP": ("SMARP", True)}
OTHER = {"SHARP": "SMARP", "SMARP": "SHARP"}
SPLITS = ("train", "val", "test")


def split_regions(arpnums: np.ndarray, seed: int, series: str, test_fraction: float = 0.2,
                  val_fraction: float = 0.2) -> dict[int, str]:
    """Assign each region of a series to train, val or test (a function of seed and series only).

    Parameters
    ----------
    arpnums : the regions (repeats allowed).
    seed, series : the experiment's seed and the instrument (each has its own draw).
    test_fraction, val_fraction : the shares of regions in test and validation.
    """
    regions = np.unique(np.asarray(arpnums))
    order = rng_for(seed, "split", series).permutation(regions)
    n_test = int(round(test_fraction * regions.size))
    n_val = int(round(val_fraction * (regions.size - n_test)))
    names = ["test"] * n_test + ["val"] * n_val + ["train"] * (regions.size - n_test - n_val)
    return {int(r): name for r, name in zip(order, names)}


def undersample(samples: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Keep all of the minority class and as many of the majority, chosen at random."""
    positive, negative = samples[samples["label"]], samples[~samples["label"]]
    small, large = (positive, negative) if len(positive) <= len(negative) else (negative, positive)
    chosen = large.iloc[np.sort(rng.choice(len(large), size=len(small), replace=False))]
    return pd.concat([small, chosen]).sort_index()


def make_dataset(samples: pd.DataFrame, name: str, seed: int, test_fraction: float = 0.2,
                 val_fraction: float = 0.2, undersampled: tuple[str, ...] = SPLITS) -> pd.DataFrame:
    """The kept samples of one dataset and seed, with a `split` column, balanced in the `undersampled`
    splits (the study: all three) and at the event rate of its windows in the others.

    `samples` are kept windows with SERIES, ARPNUM and a boolean `label`; the index is kept, so
    the rows can be matched to sequences and images.

    Parameters
    ----------
    samples : kept windows of both instruments.
    name : a key of `DATASETS`.
    seed : the experiment's seed (split and undersampling).
    test_fraction, val_fraction : the shares of regions in test and validation.
    undersampled : the splits whose majority class is undersampled.
    """
    unknown = set(undersampled) - set(SPLITS)
    if unknown:
        raise ValueError(f"undersample: {sorted(unknown)} are not splits; expected some of {list(SPLITS)}")
    series, fused = DATASETS[name]
    mine = samples[samples["SERIES"] == series]
    assignment = split_regions(mine["ARPNUM"].to_numpy(), seed, series, test_fraction, val_fraction)
    mine = mine.assign(split=mine["ARPNUM"].map(assignment))
    parts = []
    for split in ("val", "test"):  # drawn from (seed, series, split): shared by single and fused datasets
        part = mine[mine["split"] == split]
        parts.append(undersample(part, rng_for(seed, "undersample", series, split)) if split in undersampled else part)
    train = mine[mine["split"] == "train"]
    if fused:
        train = pd.concat([train, samples[samples["SERIES"] == OTHER[series]].assign(split="train")])
    parts.append(undersample(train, rng_for(seed, "undersample", name, "train")) if "train" in undersampled else train)
    return pd.concat(parts).sort_values(["split", "SERIES", "ARPNUM", "end"])


def tally(dataset: pd.DataFrame) -> pd.Series:
    """Positives and negatives per split: one row of Table 5."""
    counts = dataset.groupby(["split", "label"]).size()
    return pd.Series({f"{split} {'positive' if label else 'negative'}": int(counts.get((split, label), 0))
                      for split in SPLITS for label in (True, False)})


@dataclass(frozen=True)
class Standardizer:
    """Z-scores per instrument for keywords, and one pixel mean/std (SHARP's) for magnetograms."""

    keyword_mean: dict[str, np.ndarray]
    keyword_std: dict[str, np.ndarray]
    pixel_mean: float
    pixel_std: float

    def keywords(self, values: np.ndarray, series: np.ndarray) -> np.ndarray:
        out = np.empty_like(values, dtype=np.float32)
        for name in np.unique(series):
            rows = series == name
            out[rows] = (values[rows] - self.keyword_mean[name]) / self.keyword_std[name]
        return out

    def pixels(self, images: np.ndarray) -> np.ndarray:
        return ((images - self.pixel_mean) / self.pixel_std).astype(np.float32)

    @classmethod
    def of_pixels(cls, images: np.ndarray) -> "Standardizer":
        """Pixels only (a CNN's), from the images' mean and standard deviation in their own precision
        (float32 CNN inputs; `fit_standardizer` averages in float64)."""
        return cls({}, {}, float(images.mean()), float(images.std()))


def fit_standardizer(records: pd.DataFrame, keywords: list[str], pixels: np.ndarray) -> Standardizer:
    """Statistics from the given records (per series) and SHARP pixel values.

    Leak-free use passes the records of the training regions only; the study's global choice passes
    every record (its authors' code marks that as a leak to fix)."""
    means, stds = {}, {}
    for name, group in records.groupby("SERIES"):
        values = group[keywords].to_numpy(dtype=float)
        means[str(name)] = np.nanmean(values, axis=0)
        stds[str(name)] = np.nanstd(values, axis=0)
    pixels = np.asarray(pixels, dtype=float)
    return Standardizer(means, stds, float(np.nanmean(pixels)), float(np.nanstd(pixels)))


def to_xarray(dataset: pd.DataFrame, sequences: np.ndarray, images: np.ndarray | None, keywords: list[str],
              attrs: dict) -> "xarray.Dataset":
    """One dataset file's content: split, label, region and time of each sample, its keyword
    sequence and (when there are magnetograms) its image, with the standardization used.

    Parameters
    ----------
    dataset : the samples with `split`, `label`, `SERIES`, `ARPNUM`, `end`.
    sequences : their standardized keyword sequences, shape (n, steps, keywords).
    images : their standardized images, or None.
    keywords : the keyword names.
    attrs : the standardization and settings, written as attributes.
    """
    import xarray as xr

    from flarelib.events import FLARE_HISTORY

    variables = {
        "split": ("sample", dataset["split"].to_numpy().astype(str)),
        "label": ("sample", dataset["label"].to_numpy().astype(np.int8)),
        "series": ("sample", dataset["SERIES"].to_numpy().astype(str)),
        "arpnum": ("sample", dataset["ARPNUM"].to_numpy().astype(np.int64)),
        "t_end": ("sample", pd.to_datetime(dataset["end"]).to_numpy()),
        "sequence": (("sample", "step", "keyword"), sequences.astype(np.float32)),
    }
    if "observation" in dataset:  # what the region did in the observation and prediction periods (QUIET, WEAK, STRONG)
        variables["observation"] = ("sample", dataset["observation"].to_numpy().astype(str))
        variables["prediction"] = ("sample", dataset["prediction"].to_numpy().astype(str))
    if set(FLARE_HISTORY) <= set(dataset.columns):  # the observation period's flares, as persistence reads them
        variables["history"] = (("sample", "history_feature"), dataset[FLARE_HISTORY].to_numpy(dtype=float))
    if "filled_steps" in dataset:  # which steps of each sequence were filled from a neighbouring record
        from flarelib.sampling import filled_mask

        variables["filled"] = (("sample", "step"), filled_mask(dataset["filled_steps"].to_numpy(), sequences.shape[1]).astype(np.int8))
    if images is not None:
        variables["image"] = (("sample", "y", "x"), images.astype(np.float32))
    coords = {"keyword": keywords, **({"history_feature": FLARE_HISTORY} if "history" in variables else {})}
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def read_dataset(path) -> "xarray.Dataset":
    """A dataset file written by the sampling chapter, loaded into memory."""
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def experiment_seeds(seed: int, n_experiments: int) -> list[int]:
    """The seeds of the repeated random experiments: seed, seed + 1, ..."""
    return [seed + k for k in range(n_experiments)]


def build_datasets(store, kept_records: pd.DataFrame, samples: pd.DataFrame, sequences: np.ndarray, folder, *,
                   names: list[str], seeds: list[int], test_fraction: float, val_fraction: float,
                   standardization: str, image_size: int, keywords: list[str], with_images: bool = True,
                   caption: str = "", undersampled: tuple[str, ...] = SPLITS, event: dict | None = None) -> pd.DataFrame:
    """Write `<name>_seed<seed>.nc` for every dataset and seed; return Table 5 for all of them.

    Statistics: `train` uses the training regions' records and training images of each dataset
    (leak-free); `global` uses every kept record and every image, as the study's code did.

    Parameters
    ----------
    store : the run's store (for images).
    kept_records : the records that passed the study's filters (standardization statistics).
    samples, sequences : the kept windows and their keyword sequences.
    folder : where the files go.
    names, seeds : the datasets and experiments.
    test_fraction, val_fraction : the shares of regions in test and validation.
    standardization : "train" (leak-free) or "global" (the study's code).
    image_size : the CNN's input size.
    keywords : the keyword names.
    with_images : write images (False for a source without magnetograms).
    caption : the progress bar's label.
    undersampled : the splits balanced by undersampling (`make_dataset`).
    event : the event definition, written as attributes (`task`, `threshold_flux`, `observation_hours`,
        `prediction_hours`; the persistence baselines read the threshold and the observation length).
    """
    from pathlib import Path

    from flarelib.images import last_record_images

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    usable = samples[samples["keep"]].assign(label=lambda d: d["label"].astype(bool))
    datasets = {(n, s): make_dataset(usable, n, s, test_fraction, val_fraction, undersampled) for s in seeds for n in names}
    check_no_leakage(datasets, kept_records)
    images = None
    if with_images:
        needed = sorted(set().union(*(set(d.index) for d in datasets.values())))
        rendered = last_record_images(store, usable.loc[needed], image_size)
        images = dict(zip(needed, rendered))
    rows = []
    for (name, seed), dataset in datasets.items():
        train = dataset[dataset["split"] == "train"]
        note = ""
        if standardization == "train" and train.empty:
            note = "the training split is empty (no positive sample): statistics of all records were used"
        if standardization == "train" and not train.empty:
            regions = set(zip(train["SERIES"], train["ARPNUM"]))
            stats_records = kept_records[[r in regions for r in zip(kept_records["SERIES"], kept_records["ARPNUM"])]]
            stats_pixels = np.stack([images[i] for i in train.index]) if images else np.zeros(1)
        else:
            stats_records = kept_records
            sharp = [i for i in images if usable.at[i, "SERIES"] == "SHARP"] if images else []
            stats_pixels = np.stack([images[i] for i in sharp]) if sharp else np.zeros(1)
        scaler = fit_standardizer(stats_records, keywords, stats_pixels)
        seq = scaler.keywords(sequences[dataset.index], dataset["SERIES"].to_numpy())
        img = scaler.pixels(np.stack([images[i] for i in dataset.index])) if images and len(dataset) else None
        if images and not len(dataset):
            img = np.zeros((0, image_size, image_size), np.float32)
        attrs = {"dataset": name, "seed": seed, "standardization": standardization, "image_size": image_size,
                 "undersampled": " ".join(undersampled), **(event or {}),
                 "source_caption": caption, "note": note, "pixel_mean": scaler.pixel_mean, "pixel_std": scaler.pixel_std,
                 **{f"keyword_mean_{k}": v.tolist() for k, v in scaler.keyword_mean.items()},
                 **{f"keyword_std_{k}": v.tolist() for k, v in scaler.keyword_std.items()}}
        with atomic_path(folder / f"{name}_seed{seed}.nc") as path:
            to_xarray(dataset, seq, img, keywords, _netcdf_attrs(attrs)).to_netcdf(path, engine="h5netcdf")
        rows.append(tally(dataset).rename((name, seed)))
    table = pd.DataFrame(rows)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["dataset", "seed"])
    return table


class LeakageError(ValueError):
    """A NOAA region in the training split of one dataset and the test split of one compared with it."""


def noaa_numbers(records: pd.DataFrame) -> pd.Series:
    """Each region's NOAA numbers, (SERIES, ARPNUM) -> set of ints (empty when it has none, and for
    records that carry no NOAA_ARS at all)."""
    if "NOAA_ARS" not in records:
        return pd.Series(dtype=object)
    first = records.groupby(["SERIES", "ARPNUM"]).NOAA_ARS.first().fillna("").astype(str)
    return first.map(lambda s: {int(float(n)) for n in s.split(",") if n.strip() and n.strip() != "nan"})


def leaks(datasets: dict[tuple[str, int], pd.DataFrame], records: pd.DataFrame) -> pd.DataFrame:
    """NOAA regions seen by both instruments that sit in the training split of a dataset as one
    instrument's patch and in the test split of a dataset compared with it (the same seed and target,
    so the same test set: FUSED_SHARP with SHARP_ONLY, FUSED_SMARP with SMARP_ONLY, each also with
    itself) as the other's. Two patches of one instrument sharing a NOAA number (a tracked region
    split in two) are the study's own design: it splits by patch. Columns: seed, target, noaa, train
    and test ("dataset SERIES ARPNUM")."""
    numbers = noaa_numbers(records)
    rows = []
    groups: dict[tuple[int, str], list[tuple[str, pd.DataFrame]]] = {}
    for (name, seed), dataset in datasets.items():
        groups.setdefault((seed, DATASETS[name][0]), []).append((name, dataset))
    for (seed, target), members in groups.items():
        where = {"train": {}, "test": {}}  # (noaa, series) -> first patch found
        for name, dataset in members:
            for split in ("train", "test"):
                part = dataset[dataset["split"] == split][["SERIES", "ARPNUM"]].drop_duplicates()
                for series, arpnum in part.itertuples(index=False):
                    for noaa in numbers.get((series, arpnum), set()):
                        where[split].setdefault((noaa, series), f"{name} {series} {arpnum}")
        for (noaa, series), train in sorted(where["train"].items()):
            other = OTHER[series]
            if (noaa, other) in where["test"]:
                rows.append({"seed": seed, "target": target, "noaa": noaa, "train": train, "test": where["test"][(noaa, other)]})
    return pd.DataFrame(rows, columns=["seed", "target", "noaa", "train", "test"])


def check_no_leakage(datasets: dict[tuple[str, int], pd.DataFrame], records: pd.DataFrame) -> None:
    """Fail the run when a NOAA region seen by both instruments is in a training split as one and a
    compared test split as the other (`leaks`)."""
    found = leaks(datasets, records)
    if len(found):
        examples = "; ".join(f"NOAA {r.noaa} in {r.train} (train) and {r.test} (test), seed {r.seed}"
                             for r in found.head(5).itertuples())
        raise LeakageError(f"{len(found)} NOAA regions leak from training into a compared test set: {examples}. "
                           "A region seen by both instruments must stay on one side of the split.")


def standardizer_from_attrs(attrs: dict) -> Standardizer:
    """The standardization a dataset file was written with (the inverse of the attributes
    `build_datasets` writes)."""
    def stats(prefix: str) -> dict[str, np.ndarray]:
        return {k.removeprefix(prefix): np.atleast_1d(np.asarray(v, float)) for k, v in attrs.items() if k.startswith(prefix)}

    return Standardizer(stats("keyword_mean_"), stats("keyword_std_"), float(attrs["pixel_mean"]), float(attrs["pixel_std"]))


def _netcdf_attrs(attrs: dict) -> dict:
    """netCDF attributes hold numbers, strings and lists of numbers only."""
    return {k: (np.asarray(v, dtype=float) if isinstance(v, list) else v) for k, v in attrs.items()}


def test_regions(folder, names: list[str], seeds: list[int]) -> dict[tuple[str, int], int]:
    """How many regions each dataset file's test split holds (the test set's size in the unit the
    splits are drawn in: a few large regions make a noisy score however many windows they give)."""
    import xarray as xr

    out = {}
    for name in names:
        for seed in seeds:
            with xr.open_dataset(dataset_path(folder, name, seed), engine="h5netcdf") as ds:
                test = ds.split.values == "test"
                out[(name, seed)] = len(set(zip(ds.series.values[test], ds.arpnum.values[test])))
    return out


def dataset_path(folder, name: str, seed: int):
    from pathlib import Path

    return Path(folder) / f"{name}_seed{seed}.nc"
