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

BASELINES = ("CLIM", "LR_LAST", "GB_LAST", "LR_SUMMARY", "GB_SUMMARY", "GB_IMAGE")
KEYWORD_BASELINES = ("LR_LAST", "GB_LAST", "LR_SUMMARY", "GB_SUMMARY")
IMAGE_BASELINES = ("GB_IMAGE",)
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


def features(ds, model: str) -> np.ndarray:
    """The inputs a baseline reads, for every window of a dataset file (in its order)."""
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

    if model.startswith("LR_"):
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
    if len(np.unique(labels[train])) < 2:  # one class to learn from: its rate, as climatology
        return np.full(len(labels), labels[train].mean() if train.any() else 0.5)
    return estimator(model, seed).fit(x[train], labels[train]).predict_proba(x)[:, 1]


def predictions(ds, model: str, seed: int, inputs: np.ndarray | None = None) -> pd.DataFrame:
    """The training, validation and test probabilities of a baseline, as a deep model's cell writes them."""
    from flarelib.training import predictions_table

    prob = fit_predict(ds, model, seed, inputs)
    split = ds["split"].values
    return pd.concat([predictions_table(ds, s, prob[split == s]) for s in ("train", "val", "test")], ignore_index=True)
