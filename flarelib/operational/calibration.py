"""Prior correction and recalibration of forecasts trained on balanced sets (chapter 09).

The models were trained on balanced sets, so their raw probabilities answer "is this window more like
a positive or a negative one?" with a prior of one half; a forecaster needs the probability at the
real rate of a few percent. Bayes' rule changes the prior (Elkan 2001); isotonic regression, Platt
scaling and histogram binning recalibrate on the validation regions. Thresholds are chosen on
validation and BSS is measured against a fixed climatology: nothing here looks at the test set.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve

from flarelib.metrics import scores

Calibrator = Callable[[np.ndarray], np.ndarray]
EPS = 1e-6


def prior_shift(p: np.ndarray, from_prior: float, to_prior: float) -> np.ndarray:
    """Bayes' rule for a change of class prior (Elkan 2001, Theorem 2): a posterior learnt at
    prior `from_prior` becomes the posterior at `to_prior`, the likelihood ratio unchanged."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    up = to_prior / from_prior * p
    down = (1 - to_prior) / (1 - from_prior) * (1 - p)
    return up / (up + down)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _constant(rate: float) -> Calibrator:
    return lambda q: np.full(np.shape(q), rate, dtype=float)


def fit_isotonic(p: np.ndarray, y: np.ndarray) -> Calibrator:
    """Isotonic regression of the outcome on the probability: non-decreasing, step-wise."""
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(np.asarray(p, float), np.asarray(y, float))
    return lambda q: model.predict(np.asarray(q, float))


def fit_platt(p: np.ndarray, y: np.ndarray) -> Calibrator:
    """Platt scaling: a logistic regression on the logit of the probability. A slope that is not
    positive (a model ranking no better than chance on validation) would reverse the ranking; the
    validation event rate is forecast instead, which is monotone and honest."""
    if len(np.unique(y)) < 2:
        return _constant(float(np.mean(y)))
    model = LogisticRegression(C=1e6).fit(_logit(p)[:, None], np.asarray(y, int))
    if model.coef_[0, 0] <= 0:
        return _constant(float(np.mean(y)))
    return lambda q: model.predict_proba(_logit(q)[:, None])[:, 1]


def fit_binning(p: np.ndarray, y: np.ndarray, bins: int = 10) -> Calibrator:
    """Histogram binning: equal-count bins of the validation probabilities, each forecasting its
    event rate; adjacent bins out of order are pooled (weighted by their counts), so that a higher
    raw probability never gets a lower forecast."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)[1:-1]))
    which = np.searchsorted(edges, p, side="right")
    count = np.bincount(which, minlength=edges.size + 1)
    rate = np.bincount(which, weights=y, minlength=edges.size + 1) / np.maximum(count, 1)
    filled = count > 0
    pooled = np.full(edges.size + 1, np.nan)
    pooled[filled] = IsotonicRegression().fit(np.flatnonzero(filled), rate[filled], sample_weight=count[filled]).predict(np.flatnonzero(filled))
    pooled = pd.Series(pooled).ffill().bfill().to_numpy()  # an empty bin takes its neighbour's rate
    return lambda q: pooled[np.searchsorted(edges, np.asarray(q, float), side="right")]


RECALIBRATORS = {"isotonic": fit_isotonic, "platt": fit_platt, "binning": fit_binning}
CALIBRATION_METHODS = ["raw", "prior", *RECALIBRATORS]


def calibrated(val: pd.DataFrame, test: pd.DataFrame, train_prior: float, rate: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add a column per method to the validation and test windows (column `raw` holds the model's
    probability): `prior` (Bayes' rule to the climatological rate) and each recalibrator fitted on the
    validation windows' raw probabilities and labels."""
    val, test = val.copy(), test.copy()
    for frame in (val, test):
        frame["prior"] = prior_shift(frame.raw, train_prior, rate)
    labelled = val[val.labelled]
    for name, fit in RECALIBRATORS.items():
        if labelled.empty:  # nothing to learn from: the climatology is the honest forecast
            calibrator = _constant(rate)
        else:
            calibrator = fit(labelled.raw.to_numpy(), labelled.label.astype(int).to_numpy())
        val[name], test[name] = calibrator(val.raw.to_numpy()), calibrator(test.raw.to_numpy())
    return val, test


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold that maximizes TSS (hit rate minus false-alarm rate), from the ROC curve."""
    if len(np.unique(y)) < 2:
        return 0.5
    fpr, tpr, thresholds = roc_curve(np.asarray(y, int), np.asarray(p, float))
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def verify(val: pd.DataFrame, test: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Per method, on the test windows with a label: TSS at 0.5 and at the threshold chosen on
    validation, ACC, HSS, AUC, and BSS against the fixed training climatology."""
    rows = []
    val, test = val[val.labelled], test[test.labelled]
    y_val, y = val.label.astype(int).to_numpy(), test.label.astype(int).to_numpy()
    for method in CALIBRATION_METHODS:
        threshold = best_threshold(y_val, val[method].to_numpy())
        at_half = scores(y, test[method].to_numpy(), 0.5, climatology=rate)
        chosen = scores(y, test[method].to_numpy(), threshold, climatology=rate)
        rows.append({"method": method, "TSS@0.5": at_half["TSS"], "HSS@0.5": at_half["HSS"], "ACC@0.5": at_half["ACC"],
                     "threshold": threshold, "TSS@val": chosen["TSS"], "HSS@val": chosen["HSS"],
                     "BSS": at_half["BSS"], "AUC": at_half["AUC"], "event_rate": float(y.mean()) if len(y) else np.nan,
                     "climatology": rate, "n": len(y)})
    return pd.DataFrame(rows)
