"""The baselines the study lacks: what simple models score on exactly the LSTM's and the CNN's windows.

Each baseline is fitted on a dataset file's training split and scored on its test split at the
study's threshold (0.5), in the same sweep, with the same metrics, tables and t-tests as the deep
models (`flarelib.sweep` runs them as cells of their own, all of a dataset and seed in one task):

- `CLIM`, climatology: the training split's event rate for every window. Its TSS is 0 and, where the
  test split's rate equals the training split's (as undersampling to balance makes it), its BSS is 0.
- `LR_LAST`, `GB_LAST`: logistic regression and gradient boosting (scikit-learn) on the last record's
  four keywords, what the window's last record alone gives, without its sequence.
- `LR_SUMMARY`, `GB_SUMMARY`: the same on a summary of the sequence: last record, first record and
  the change between them.
- `PERSIST_ANY`, `PERSIST_STRONG`: persistence, the first baseline of flare-forecast verification
  (Bloomfield et al. 2012; Leka et al. 2019): 1 when the region had a flare of any class (or one at
  the event threshold, M1.0 in the study) in the window's observation period, else 0. In the study's
  strong-vs-quiet task every negative is QUIET in its observation period, so `PERSIST_ANY` raises no
  false alarm by construction.
- `PERSIST_PROB`: logistic regression on the observation period's flare history alone (flares per
  GOES letter, the largest peak flux, the hours since the last flare; `events.FLARE_HISTORY`).
- `LR_LAST_HISTORY`: `LR_LAST` with that history added: what the keywords add to the flare record.
- `GB_IMAGE`: gradient boosting on statistics of the CNN's input image (scikit-image): its mean
  unsigned field, the field gradient's percentiles (`filters.sobel`), the strong-field pixels, the
  strong polarities' regions (`measure.label`, `measure.regionprops`) and R, the unsigned field near
  strong-field inversion lines (`flarelib.keywords`).

The keyword baselines see the standardized sequences the LSTM sees; the image baseline sees the
CNN's image, brought back to Gauss with the dataset's pixel statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BASELINES = ("CLIM", "LR_LAST", "GB_LAST", "LR_SUMMARY", "GB_SUMMARY", "GB_IMAGE",
             "PERSIST_ANY", "PERSIST_STRONG", "PERSIST_PROB", "LR_LAST_HISTORY")
KEYWORD_BASELINES = ("LR_LAST", "GB_LAST", "LR_SUMMARY", "GB_SUMMARY")
IMAGE_BASELINES = ("GB_IMAGE",)
PERSISTENCE_BASELINES = ("PERSIST_ANY", "PERSIST_STRONG", "PERSIST_PROB")
HISTORY_BASELINES = (*PERSISTENCE_BASELINES, "LR_LAST_HISTORY")  # these read the flare history of the dataset file
RULES = ("CLIM", "PERSIST_ANY", "PERSIST_STRONG")  # nothing is fitted: a rate or a rule
STRONG_GAUSS = 150.0  # a strong-field pixel, as R's inversion lines take it (Schrijver 2007)
IMAGE_STATISTICS = ["mean |B|", "gradient p50", "gradient p90", "gradient p99", "gradient max", "strong pixels",
                    "positive regions", "negative regions", "largest positive", "largest negative", "R"]


@dataclass(frozen=True)
class Fitted:
    """A baseline's stand-in for a training result: no epochs, no checkpoint."""

    best_epoch: int = 0
    history: tuple = ()


def is_baseline(model: str) -> bool:
    return model in BASELINES


def sequence_summary(sequences: np.ndarray) -> np.ndarray:
    """Per window: its last record's keywords, its first record's and their change (n, 3 x keywords)."""
    last, first = sequences[:, -1, :], sequences[:, 0, :]
    return np.concatenate([last, first, last - first], axis=1)


def image_statistics(images: np.ndarray) -> np.ndarray:
    """Per image (in Gauss): the statistics of `IMAGE_STATISTICS`."""
    from skimage import filters, measure

    from flarelib.keywords import inversion_line_mask, r_from_lines

    rows = []
    for field in np.nan_to_num(np.asarray(images, dtype=float)):
        gradient = filters.sobel(field)
        regions = {sign: measure.regionprops(measure.label(sign * field > STRONG_GAUSS)) for sign in (1, -1)}
        rows.append([np.abs(field).mean(), *np.percentile(gradient, [50, 90, 99]), gradient.max(),
                     (np.abs(field) > STRONG_GAUSS).mean(), len(regions[1]), len(regions[-1]),
                     max((r.area for r in regions[1]), default=0), max((r.area for r in regions[-1]), default=0),
                     r_from_lines(field, inversion_line_mask(field))])
    return np.asarray(rows, dtype=float).reshape(len(rows), len(IMAGE_STATISTICS))


def history_of(ds) -> np.ndarray:
    """The dataset file's flare history of each window (`events.FLARE_HISTORY`), with a clear error
    for a file written without it."""
    if "history" not in ds:
        raise ValueError(f"the dataset {ds.attrs.get('dataset')} seed {ds.attrs.get('seed')} has no flare history: "
                         "the persistence baselines need chapter 03 to run again (flarelib run --from 03_sampling)")
    return np.asarray(ds["history"].values, dtype=float)


def persistence(ds, strong: bool) -> np.ndarray:
    """1 where the region flared in the observation period (`strong`: at the event threshold the file
    was labelled with, attribute `threshold_flux`), else 0."""
    history = history_of(ds)
    if strong:
        from flarelib.goes import is_strong

        return is_strong(history[:, 4], float(ds.attrs.get("threshold_flux", 1e-5))).astype(float)
    return (history[:, :4].sum(axis=1) > 0).astype(float)


def history_features(ds) -> np.ndarray:
    """The flare history as a logistic regression reads it: log(1 + count) per GOES letter, log10 of the
    largest peak flux (-9, below A1.0, when none), the hours since the last flare (the observation
    period's length when none) and whether there was any."""
    history = history_of(ds)
    counts, largest, since = history[:, :4], history[:, 4], history[:, 5]
    hours = float(ds.attrs.get("observation_hours", 24.0))
    return np.column_stack([np.log1p(counts), np.log10(np.maximum(largest, 1e-9)), np.where(np.isnan(since), hours, since),
                            counts.sum(axis=1) > 0])


def features(ds, model: str) -> np.ndarray:
    """The inputs a baseline reads, for every window of a dataset file (in its order)."""
    if model in ("PERSIST_ANY", "PERSIST_STRONG"):
        return persistence(ds, strong=model == "PERSIST_STRONG")[:, None]
    if model == "PERSIST_PROB":
        return history_features(ds)
    if model == "LR_LAST_HISTORY":
        return np.concatenate([ds["sequence"].values[:, -1, :], history_features(ds)], axis=1)
    if model in ("LR_LAST", "GB_LAST"):
        return ds["sequence"].values[:, -1, :]
    if model in ("LR_SUMMARY", "GB_SUMMARY"):
        return sequence_summary(ds["sequence"].values)
    if model == "GB_IMAGE":
        if "image" not in ds:
            raise ValueError(f"the dataset {ds.attrs.get('dataset')} has no images: the image baseline needs them")
        return image_statistics(ds["image"].values * float(ds.attrs["pixel_std"]) + float(ds.attrs["pixel_mean"]))
    return np.zeros((ds.sizes["sample"], 0))


def estimator(model: str, seed: int):
    """The scikit-learn model of a baseline (seeded where it draws anything)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model.startswith("LR_") or model == "PERSIST_PROB":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if model.startswith("GB_"):
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
    raise ValueError(f"unknown baseline {model!r}; expected one of {BASELINES}")


def fit_predict(ds, model: str, seed: int, inputs: np.ndarray | None = None) -> np.ndarray:
    """A baseline fitted on the training split: the probability of a flare for every window."""
    labels, split = ds["label"].values.astype(int), ds["split"].values
    train = split == "train"
    if model == "CLIM":
        return np.full(len(labels), labels[train].mean() if train.any() else 0.5)
    x = features(ds, model) if inputs is None else inputs
    if model in ("PERSIST_ANY", "PERSIST_STRONG"):  # a rule, not a fit: the forecast is the observation period's flare
        return x[:, 0]
    if len(np.unique(labels[train])) < 2:  # one class to learn from: its rate, as climatology
        return np.full(len(labels), labels[train].mean() if train.any() else 0.5)
    return estimator(model, seed).fit(x[train], labels[train]).predict_proba(x)[:, 1]


def predictions(ds, model: str, seed: int, inputs: np.ndarray | None = None) -> pd.DataFrame:
    """The training, validation and test probabilities of a baseline, as a deep model's cell writes them."""
    from flarelib.training import predictions_table

    prob = fit_predict(ds, model, seed, inputs)
    split = ds["split"].values
    return pd.concat([predictions_table(ds, s, prob[split == s]) for s in ("train", "val", "test")], ignore_index=True)


def learning_curve(ds, model_name: str, settings, image_size: int, full,
                   fractions: tuple[float, ...] = (0.25, 0.5), baseline: str = "GB_IMAGE") -> pd.DataFrame:
    """Test TSS of the model and of a `baseline` trained on nested shares of the training split (a seeded
    order; validation and test unchanged), one row per share: how much a model gains from more windows,
    beside a simpler model fitted on the same ones. The last row, the whole training split, is `full`,
    the model already trained on it.

    Parameters
    ----------
    ds : a dataset file's content.
    model_name : "LSTM" or "CNN".
    settings : how to train (`training.TrainSettings`; early stopping on the unchanged validation split).
    image_size : the CNN's input size.
    full : the model trained on the whole training split (`training.TrainResult`).
    fractions : shares of the training windows below the whole.
    baseline : a `flarelib.baselines` model fitted on the same windows.
    """
    from flarelib.metrics import contingency, tss
    from flarelib.training import fit, model_inputs, predict

    split = ds["split"].values
    train = np.random.default_rng(settings.seed).permutation(np.flatnonzero(split == "train"))
    test_x, test_y = model_inputs(ds, model_name, "test")
    rows = []
    for share in (*fractions, 1.0):
        kept = np.where(split == "train", "unused", split)
        kept[train[: max(2, int(round(share * train.size)))]] = "train"
        subset = ds.assign(split=(ds["split"].dims, kept))
        result = full if share == 1.0 else fit(model_name, model_inputs(subset, model_name, "train"),
                                               model_inputs(subset, model_name, "val"), settings, image_size)
        simple = fit_predict(subset, baseline, settings.seed)[split == "test"]
        rows.append({"training windows": int((kept == "train").sum()), "share": share,
                     model_name: tss(contingency(test_y.numpy(), predict(result.model, test_x) >= 0.5)),
                     baseline: tss(contingency(test_y.numpy(), simple >= 0.5)), "best epoch": result.best_epoch})
    return pd.DataFrame(rows)
