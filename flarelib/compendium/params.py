"""Parameter sets: `params/NAME.yaml` plus `key=value` overrides, validated strictly.

One flat model serves every chapter, so a chapter's `parameters` cell is a subset of these keys
and papermill can inject plain values. Unknown keys and wrong types are errors that name the key
and the file, because a misspelled parameter silently ignored is a wrong experiment.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flarelib.compendium.paths import project_root

Source = Literal["synthetic", "archive", "jsoc"]
DatasetName = Literal["SHARP_ONLY", "FUSED_SHARP", "SMARP_ONLY", "FUSED_SMARP"]
ModelName = Literal["LSTM", "CNN"]
VariantName = Literal["LSTM_MASK", "LSTM_COMPLETE"]
BaselineName = Literal["CLIM", "LR_LAST", "GB_LAST", "LR_SUMMARY", "GB_SUMMARY", "GB_IMAGE",
                       "PERSIST_ANY", "PERSIST_STRONG", "PERSIST_PROB", "LR_LAST_HISTORY"]
TaskName = Literal["strong_vs_quiet", "strong_vs_rest"]
SplitName = Literal["train", "val", "test"]


class ParamsError(ValueError):
    """A parameter set that cannot be used; the message names the file and the key."""


class Params(BaseModel):
    """Every parameter of the compendium, with the study's values as documentation."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Data
    source: Source = Field("synthetic", description="Where the data come from.")
    data_dir: str | None = Field(None, description="The folder of the public data files (flarelib data); default: FLARELIB_DATA_DIR, else the user cache folder.")
    cache_dir: str = Field(".cache/jsoc", description="Download cache (source: jsoc).")
    jsoc_email: str | None = Field(None, description="A JSOC-registered address, for cutout exports (source: jsoc).")
    jsoc_url: str | None = Field(None, description="JSOC's address, or a mirror's (source: jsoc; default JSOC's own).")
    hek_url: str | None = Field(None, description="The HEK's address, or a mirror's (source: jsoc; default the HEK's own).")
    jsoc_start: str | None = Field(None, description="First day queried, e.g. 2010-05-01 (source: jsoc; default: each series' start).")
    jsoc_end: str | None = Field(None, description="Day after the last one queried (source: jsoc; default: each series' end).")
    seed: int = Field(0, ge=0, description="Seed of the synthetic world and of the first experiment.")
    # The synthetic world (source: synthetic): regions per cycle, and regions seen by both instruments
    regions_cycle23: int = Field(80, ge=1)
    regions_cycle24: int = Field(60, ge=1)
    overlap_regions: int = Field(10, ge=0, description="Regions in May-Oct 2010, seen by MDI and HMI.")
    mdi_gain: float = Field(1.10, gt=0, description=(
        "MDI's field over HMI's in the synthetic world: the true factor chapter 02 recovers (the study: 1.099 from its "
        "histograms; Liu et al. 2012: 1.40 pixel to pixel)."))
    # Sampling (Section 2.4 of the study)
    observation_hours: float = Field(24.0, gt=0)
    prediction_hours: float = Field(24.0, gt=0)
    cadence_minutes: float = Field(96.0, gt=0)
    task: TaskName = Field("strong_vs_quiet", description=(
        "The event definition. strong_vs_quiet (the study's): positive when a flare at flare_class or above starts in "
        "the prediction period, negative when the region had no flare of any class in the observation period and the "
        "prediction period, every other window dropped. strong_vs_rest (as operational forecasts are scored): every "
        "window, positive as before, negative otherwise."))
    flare_class: str = Field("M1.0", description=(
        "The smallest GOES class of an event (the study: M1.0; C1.0 and X1.0 are the usual others)."))
    undersample: tuple[SplitName, ...] = Field(("train", "val", "test"), description=(
        "The splits whose majority class is undersampled to the minority's size (the study: all three). A split left "
        "out keeps its windows' own event rate, as a forecaster meets it."))
    flare_time: Literal["start", "peak"] = Field("start", description=(
        "Which time of a flare places it in a period: its start, as the study's authors do, or its peak."))
    archive_labels: Literal["ours", "authors"] = Field("ours", description=(
        "archive source: our labels from the NOAA catalogues, or the authors' published labels of the same windows."))
    compare_labels: bool = Field(False, description=(
        "archive source: train the LSTM on the other label set too (same windows, same seeds), for chapter 07's "
        "Table 7 both ways."))
    require_first_record: bool = Field(True, description=(
        "A window starts at an existing record, as in the authors' code. The archive's tables list only windows' "
        "last records, so params/archive.yaml turns this off (every published window met it)."))
    max_bad_records: int = Field(2, ge=0, le=15, description=(
        "Most NaN values of a keyword, and most bad or missing images, a window may hold (the study: 2; the "
        "authors' code counts the two separately). The archive's tables omit the records of "
        "the windows the authors dropped, so params/archive.yaml allows more."))
    test_fraction: float = Field(0.2, gt=0, lt=1)
    val_fraction: float = Field(0.2, gt=0, lt=1)
    standardization: Literal["train", "global"] = Field(
        "train", description="train: statistics from the training split (leak-free); global: the study's."
    )
    image_size: int = Field(128, ge=16, le=512, description="CNN input size in pixels (square).")
    cnn_channels: int = Field(64, ge=4, le=256, description=(
        "Filters per convolution of the CNN (Li et al. 2020 and the study: 64). Fewer make the same network "
        "narrower and much cheaper on a CPU: the demo uses 16 and says so."))
    # Training (Section 3.1)
    max_epochs: int = Field(20, ge=1)
    lstm_patience: int = Field(5, ge=1)
    cnn_patience: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    dataset: DatasetName = Field("FUSED_SHARP", description="The dataset the single-model chapters train on.")
    # Experiments (Section 4.1)
    datasets: tuple[DatasetName, ...] = ("SHARP_ONLY", "FUSED_SHARP", "SMARP_ONLY", "FUSED_SMARP")
    models: tuple[ModelName, ...] = ("LSTM", "CNN")
    lstm_variants: tuple[VariantName, ...] = Field((), description=(
        "The hole audit (archive): the LSTM told which steps of a window were filled from a neighbouring record "
        "(LSTM_MASK), and trained and tested on complete windows only (LSTM_COMPLETE), beside the LSTM."))
    baselines: tuple[BaselineName, ...] = Field(("CLIM", "LR_LAST", "GB_LAST", "LR_SUMMARY", "GB_SUMMARY", "GB_IMAGE",
                                                 "PERSIST_ANY", "PERSIST_STRONG", "PERSIST_PROB", "LR_LAST_HISTORY"), description=(
        "Simple models beside the deep ones, on the same datasets, splits and seeds (flarelib.baselines): climatology, "
        "logistic regression and gradient boosting on the last record or a summary of the sequence, gradient boosting "
        "on image statistics (GB_IMAGE needs magnetograms), persistence of the observation period's flares (any class, "
        "at flare_class, and a logistic regression on the flare history) and LR_LAST with that history. The study has none."))
    n_experiments: int = Field(10, ge=1)
    # Attribution (Section 4.4)
    attribution_folds: int = Field(5, ge=2, description="Cross-validation folds over regions for out-of-sample maps.")
    attribution_sequences: int = Field(2, ge=1, description="Quiet-to-flare-imminent sequences explained.")
    attribution_regions: tuple[int, ...] = Field((), description="SHARP regions to explain (default: chosen from the data).")
    attribution_min_rise: float = Field(0.1, ge=-1.0, le=1.0, description=(
        "A region is explained only if its out-of-fold CNN forecast rises by at least this much (probability) from the "
        "first frame of its quiet-to-imminent sequence to the last: a map of a change that did not happen explains nothing "
        "(-1 explains every candidate, as the smoke set does to exercise the code on a CNN that trained two epochs)."))
    # Chapter 09, operational forecasts
    operational_folds: int = Field(5, ge=2, description="Folds over regions for the out-of-sample full-disk forecasts.")
    issue_every_hours: int = Field(6, ge=2, le=24, description="Hours between full-disk forecast issue times.")
    operational_models: tuple[ModelName, ...] = Field(("LSTM",), description=(
        "Models of chapter 09's full-disk and transfer experiments (each trains anew; the CNN needs every window's image)."))
    transfer_experiments: int = Field(3, ge=1, description="Experiments (the first seeds) of chapter 09's transfer study; each trains four models.")
    workers: int = Field(0, ge=0, description="Parallel workers of the sweep; 0 means one per core.")
    scheduler_address: str | None = Field(None, description="An existing dask scheduler, if any.")
    ensemble: Literal["auto", "on", "off"] = Field("auto", description=(
        "Train the LSTM seeds of a dataset together as one stacked network (same numbers as one at a time); "
        "auto: with a GPU only, since on a CPU it is slower (benchmarks/ensemble.py)."))


    @field_validator("flare_class")
    @classmethod
    def _a_goes_class(cls, value: str) -> str:
        from flarelib.goes import threshold_flux

        threshold_flux(value)  # a GoesClassError (a ValueError) names what a class looks like
        return value

    @field_validator("undersample")
    @classmethod
    def _each_split_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"each split at most once, not {list(value)}")
        return value


# What a source cannot serve, and why: (source, key, test of the value, the reason).
UNSERVED = [
    ("archive", "task", lambda v: v != "strong_vs_quiet",
     "the archive's published window tables hold only the study's windows (an M1.0+ flare next, or no flare at all in "
     "either period), so the windows of regions with weaker flares that strong_vs_rest needs as negatives are not in them; "
     "the teaching world (source: synthetic) and JSOC (source: jsoc) can serve it"),
    ("archive", "flare_class", lambda v: _flux(v) < 1e-5 * (1 - 1e-9),
     "the archive's published window tables dropped every window whose prediction period held only flares below "
     "M1.0, so the positives of a lower threshold are missing from them; thresholds of M1.0 and above can be served "
     "(the teaching world and JSOC serve any)"),
]


def _flux(flare_class: str) -> float:
    from flarelib.goes import threshold_flux

    return threshold_flux(flare_class)


def check_served(params: "Params", where: str) -> None:
    """Refuse a choice the run's source cannot serve, saying why (`UNSERVED`)."""
    for source, key, unserved, why in UNSERVED:
        value = getattr(params, key)
        if params.source == source and unserved(value):
            raise ParamsError(f"{where}: key {key!r}: {value!r} cannot be served by source {source!r}: {why}")


class _Loader(yaml.SafeLoader):
    """Safe YAML with the YAML 1.2 float rule, so `1e-3` is a number and not the string '1e-3'."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*\.?[\d_]*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\.inf|\.nan)$", re.X),
    list("-+0123456789."),
)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def params_dir() -> Path:
    return project_root() / "params"


def resolve_params_file(name_or_path: str | Path) -> Path:
    """`demo` -> params/demo.yaml; an existing path is taken as it is; anything else is an error
    that lists the known sets."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    known = ", ".join(sorted(p.stem for p in params_dir().glob("*.yaml")))
    if path.suffix in {".yaml", ".yml"} or path.exists():
        raise ParamsError(f"no parameter file {str(name_or_path)!r} (a set in params/ is named without .yaml: "
                          f"{known}; or give the path of a YAML file)")
    candidate = params_dir() / f"{name_or_path}.yaml"
    if not candidate.exists():
        raise ParamsError(f"no parameter set named {name_or_path!r} (known: {known})")
    return candidate


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` with the value read as YAML, so `seed=3` is an int and `models=[LSTM]` a list."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ParamsError(f"override {text!r} is not of the form key=value")
    return key.strip(), _yaml(raw) if raw.strip() else ""


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    """YAML gives lists; the model holds tuples (immutable, hashable). Ints are fine as floats, and a
    date YAML reads from `2010-05-01` is kept as the text it was written as."""
    import datetime

    out: dict[str, Any] = {}
    for key, value in values.items():
        field = Params.model_fields.get(key)
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        elif field is not None and field.annotation is float and type(value) is int:
            value = float(value)
        out[key] = value
    return out


def _describe(error: ValidationError, where: str) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(item["loc"][0]), Params.model_fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"{where}: unknown key {key!r}{hint}")
        elif item["type"] == "tuple_type":
            lines.append(f"{where}: key {key!r} takes a list, not one value: write {key}=[{item.get('input')}] "
                         f"on the command line, `{key}: [{item.get('input')}]` in a file (got {item.get('input')!r})")
        else:
            lines.append(f"{where}: key {key!r}: {item['msg'].removeprefix('Value error, ')} (got {item.get('input')!r})")
    return "\n".join(lines)


def validate(values: dict[str, Any], where: str) -> Params:
    try:
        params = Params(**_normalise(values))
    except ValidationError as error:
        raise ParamsError(_describe(error, where)) from None
    check_served(params, where)
    return params


def load_params(name_or_path: str | Path, overrides: list[str] | None = None) -> tuple[Params, Path]:
    """Read a parameter set, apply overrides, validate. Returns the set and the file it came from."""
    path = resolve_params_file(name_or_path)
    try:
        raw = _yaml(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: a parameter set is a mapping of key: value")
    validate(raw, str(path))
    for text in overrides or []:
        key, value = parse_override(text)
        raw[key] = value
    return validate(raw, f"{path} with overrides {overrides}" if overrides else str(path)), path


def to_plain(params: Params) -> dict[str, Any]:
    """Plain JSON/YAML values (tuples as lists) for papermill and the run record."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.model_dump().items()}
