"""Forecast verification (Section 3.3 of the study): contingency table, ACC, HSS, TSS, BS, BSS, AUC.

Counts and scores come from scikit-learn where it has them (confusion matrix, ROC AUC, Brier
score); HSS, TSS and BSS are written out as in the study's Eqs. 6-14.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import brier_score_loss, confusion_matrix, roc_auc_score


@dataclass(frozen=True)
class Contingency:
    tp: int
    fn: int
    fp: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fn + self.fp + self.tn


def contingency(y_true: np.ndarray, y_pred: np.ndarray) -> Contingency:
    if len(y_true) == 0:
        return Contingency(0, 0, 0, 0)
    tn, fp, fn, tp = confusion_matrix(np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int), labels=[0, 1]).ravel()
    return Contingency(int(tp), int(fn), int(fp), int(tn))


def accuracy(c: Contingency) -> float:
    return (c.tp + c.tn) / c.n


def tss(c: Contingency) -> float:
    """True skill statistic: hit rate minus false-alarm rate (Eq. 9)."""
    return c.tp / (c.tp + c.fn) - c.fp / (c.fp + c.tn)


def hss(c: Contingency) -> float:
    """Heidke skill score against a random forecast with the same marginals (Eqs. 7-8)."""
    expected = ((c.tp + c.fn) * (c.tp + c.fp) + (c.tn + c.fn) * (c.tn + c.fp)) / c.n
    return (c.tp + c.tn - expected) / (c.n - expected)


def brier(y_true: np.ndarray, prob: np.ndarray) -> float:
    return float(brier_score_loss(np.asarray(y_true).astype(int), np.asarray(prob, dtype=float)))


def bss(y_true: np.ndarray, prob: np.ndarray, climatology: float | None = None) -> float:
    """Brier skill score against a constant forecast of the climatological rate (Eqs. 13-14).

    The study's reference is the evaluated set's own event rate (the default); pass a fixed rate
    (for example a long-term climatology) to compare across sets."""
    y = np.asarray(y_true).astype(float)
    rate = y.mean() if climatology is None else float(climatology)
    reference = float(np.mean((rate - y) ** 2))
    return 1.0 - brier(y, prob) / reference


def bss_authors(y_true: np.ndarray, prob: np.ndarray) -> float:
    """The BSS of the code that produced the study's Tables 6-8: its reference is the forecasts'
    mean squared distance from the set's event rate, mean((p - rate)^2), not Eq. 14's
    mean((rate - y)^2). On balanced sets it is systematically lower than Eq. 14's; shown only beside
    the published values, never as our BSS. Undefined (NaN) for forecasts that all equal the event
    rate, such as climatology on a balanced set: its reference is then zero."""
    y = np.asarray(y_true).astype(float)
    p = np.asarray(prob, dtype=float)
    reference = float(np.mean((p - y.mean()) ** 2))
    return 1.0 - float(np.mean((p - y) ** 2)) / reference if reference > 0 else float("nan")


def auc(y_true: np.ndarray, prob: np.ndarray) -> float:
    return float(roc_auc_score(np.asarray(y_true).astype(int), np.asarray(prob, dtype=float)))


def rank_auc(y_true: np.ndarray, prob: np.ndarray) -> float | np.ndarray:
    """ROC AUC as the Mann-Whitney statistic (ties count one half), of one forecast or of every row
    of a 2-D array of forecasts at once: `auc` for loops that call it thousands of times (the
    stacking grid, bootstraps); equal to scikit-learn's to rounding (a test checks)."""
    y = np.asarray(y_true).astype(bool)
    ranks = stats.rankdata(np.asarray(prob, dtype=float), axis=-1)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    value = (ranks[..., y].sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return float(value) if np.ndim(value) == 0 else value


def fast_tss(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
    """TSS of probabilities `p` at `threshold` (hit rate minus false-alarm rate), for bootstrap
    loops; equal to `scores(y, p, threshold)["TSS"]` (a test checks) at a hundredth of the cost."""
    y, yes = np.asarray(y).astype(bool), np.asarray(p) >= threshold
    return float(yes[y].mean() - yes[~y].mean())


def scores(y_true: np.ndarray, prob: np.ndarray, threshold: float = 0.5, climatology: float | None = None) -> dict[str, float]:
    """ACC, HSS, TSS at the threshold; BSS and AUC from the probabilities; and the counts.

    With no samples or only one class the skill scores are undefined: they are NaN and `note` says why."""
    y = np.asarray(y_true).astype(int)
    c = contingency(y, np.asarray(prob) >= threshold)
    if len(np.unique(y)) < 2:
        nan = float("nan")
        note = "no samples" if len(y) == 0 else f"only {'positive' if y[0] else 'negative'} samples"
        return {"ACC": nan, "HSS": nan, "TSS": nan, "BSS": nan, "BSS_authors": nan, "AUC": nan, "TP": c.tp, "FN": c.fn,
                "FP": c.fp, "TN": c.tn, "note": f"skill scores undefined: {note}"}
    return {"ACC": accuracy(c), "HSS": hss(c), "TSS": tss(c), "BSS": bss(y_true, prob, climatology),
            "BSS_authors": bss_authors(y_true, prob), "AUC": auc(y_true, prob), "TP": c.tp, "FN": c.fn, "FP": c.fp,
            "TN": c.tn}


def tss_profile(y_true: np.ndarray, prob: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """TSS at every threshold (the skill-score profile)."""
    return np.array([tss(contingency(y_true, np.asarray(prob) >= t)) for t in thresholds])
