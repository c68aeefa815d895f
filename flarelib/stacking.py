"""Stacking the LSTM and the CNN (Section 3.2): r = alpha p + (1 - alpha) q, fitted on validation.

alpha is chosen on a grid of step 0.001 by each criterion (CROSS_ENTROPY and BSS are convex in
alpha; AUC and TSS at 0.5 are not), against two baselines: AVG (alpha = 0.5) and BEST (the base
learner with the better validation TSS). The meta-learner never sees training probabilities.
`simplex_weights` generalises to K base learners: projected gradient descent on the convex
cross-entropy over the probability simplex.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.metrics import rank_auc, scores
from flarelib.schema import SAMPLE_END, SAMPLE_REGION

CRITERIA = ("CROSS_ENTROPY", "BSS", "AUC", "TSS")
ALPHAS = np.round(np.linspace(0.0, 1.0, 1001), 3)
EPS = 1e-12


def _objective(criterion: str, y: np.ndarray, mixed: np.ndarray) -> np.ndarray:
    """Higher is better, for every row of `mixed` (alphas x samples)."""
    y = y.astype(float)
    if criterion == "CROSS_ENTROPY":
        m = np.clip(mixed, EPS, 1 - EPS)
        return np.mean(y * np.log(m) + (1 - y) * np.log(1 - m), axis=1)
    if criterion == "BSS":  # Eq. 14: the reference does not depend on alpha, so maximise -BS (the authors' code's
        # reference, mean((r - rate)^2), would: this criterion is Eq. 14's, as our BSS everywhere)
        return -np.mean((mixed - y) ** 2, axis=1)
    if criterion == "AUC":
        return rank_auc(y, mixed)
    if criterion == "ACC":  # Figure 11's criterion in the study (not one of the stacking table's four)
        return ((mixed >= 0.5) == y[None, :].astype(bool)).mean(axis=1)
    if criterion == "TSS":
        forecast = mixed >= 0.5
        positives, negatives = y.sum(), (1 - y).sum()
        return (forecast & (y == 1)).sum(axis=1) / positives - (forecast & (y == 0)).sum(axis=1) / negatives
    raise ValueError(f"unknown criterion {criterion!r}; expected one of {CRITERIA}")


def objective_curve(criterion: str, y: np.ndarray, p: np.ndarray, q: np.ndarray, alphas: np.ndarray = ALPHAS) -> np.ndarray:
    """The stacking criterion of alpha p + (1 - alpha) q over a grid of alpha (higher is better).

    Parameters
    ----------
    criterion : one of `CRITERIA`.
    y : the labels.
    p, q : the two models' probabilities (CNN, LSTM).
    alphas : the grid.
    """
    mixed = alphas[:, None] * np.asarray(p)[None, :] + (1 - alphas[:, None]) * np.asarray(q)[None, :]
    return _objective(criterion, np.asarray(y), mixed)


def accuracy_curve(y: np.ndarray, p: np.ndarray, q: np.ndarray, alphas: np.ndarray = ALPHAS) -> np.ndarray:
    """ACC at threshold 0.5 of the mixture, for every alpha (Figure 11b)."""
    return objective_curve("ACC", y, p, q, alphas)


def fit_alpha(criterion: str, y: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """The grid alpha that maximises the criterion (the first of tied maxima); NaN without both classes."""
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(ALPHAS[int(np.nanargmax(objective_curve(criterion, y, p, q)))])


def stack(val: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Every method's alpha (fitted on validation) and test scores. `val` and `test` have columns
    label, p (LSTM probability) and q (CNN probability), rows matched sample by sample."""
    y, p, q = val.label.to_numpy(), val.p.to_numpy(), val.q.to_numpy()
    alphas = {"LSTM": 1.0, "CNN": 0.0, "AVG": 0.5}
    tss_p, tss_q = (scores(y, x)["TSS"] for x in (p, q))
    alphas["BEST"] = float("nan") if np.isnan(tss_p) or np.isnan(tss_q) else (1.0 if tss_p >= tss_q else 0.0)
    for criterion in CRITERIA:
        alphas[criterion] = fit_alpha(criterion, y, p, q)
    rows = []
    for method, alpha in alphas.items():
        mixed = alpha * test.p.to_numpy() + (1 - alpha) * test.q.to_numpy() if not np.isnan(alpha) else np.full(len(test), np.nan)
        s = scores(test.label.to_numpy(), mixed) if not np.isnan(alpha) else {"TSS": np.nan}
        rows.append({"method": method, "alpha": alpha, **{k: s.get(k, np.nan) for k in ("ACC", "TSS", "BSS", "AUC")}})
    return pd.DataFrame(rows)


def paired_probabilities(predictions: pd.DataFrame, dataset: str, seed: int, split: str) -> pd.DataFrame:
    """LSTM (p) and CNN (q) probabilities of the same samples of one dataset, seed and split."""
    keys = [*SAMPLE_REGION, SAMPLE_END, "label"]
    part = predictions[(predictions.dataset == dataset) & (predictions.seed == seed) & (predictions.split == split)]
    lstm = part[part.model == "LSTM"][keys + ["prob"]].rename(columns={"prob": "p"}).reset_index(drop=True)
    cnn = part[part.model == "CNN"][keys + ["prob"]].rename(columns={"prob": "q"}).reset_index(drop=True)
    if len(lstm) != len(cnn) or not lstm[keys].equals(cnn[keys]):
        raise ValueError(f"LSTM and CNN predictions of {dataset} seed {seed} ({split}) are not of the same samples")
    return lstm.assign(q=cnn.q)


def stack_all(predictions: pd.DataFrame) -> pd.DataFrame:
    """`stack` for every dataset and seed that has both models."""
    rows = []
    for (dataset, seed), _ in predictions.groupby(["dataset", "seed"]):
        if not {"LSTM", "CNN"} <= set(predictions[(predictions.dataset == dataset) & (predictions.seed == seed)].model):
            continue
        table = stack(paired_probabilities(predictions, dataset, seed, "val"), paired_probabilities(predictions, dataset, seed, "test"))
        rows.append(table.assign(dataset=dataset, seed=seed))
    columns = ["method", "alpha", "ACC", "TSS", "BSS", "AUC", "dataset", "seed"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def simplex_beside_grid(y: np.ndarray, p: np.ndarray, q: np.ndarray) -> str:
    """One sentence: the simplex solver's weights of two learners beside the grid's alpha by the same
    criterion (cross-entropy), and whether they agree to the grid's step."""
    weights = simplex_weights(np.column_stack([np.asarray(p, float), np.asarray(q, float)]), np.asarray(y, int))
    alpha = fit_alpha("CROSS_ENTROPY", np.asarray(y, int), np.asarray(p, float), np.asarray(q, float))
    gap = abs(weights[0] - alpha)
    said = "they agree, as they must by the same criterion" if gap <= 2e-3 else f"they differ by {gap:.3f}"
    return (f"Simplex weights (LSTM, CNN): ({weights[0]:.3f}, {weights[1]:.3f}); the grid's alpha by cross-entropy: "
            f"{alpha:.3f}: {said}.")


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection onto {w >= 0, sum w = 1} (sort-based, Duchi et al. 2008)."""
    u = np.sort(v)[::-1]
    cumulative = np.cumsum(u) - 1
    index = np.arange(1, v.size + 1)
    rho = index[u - cumulative / index > 0][-1]
    return np.maximum(v - cumulative[rho - 1] / rho, 0.0)


def simplex_weights(probabilities: np.ndarray, y: np.ndarray, steps: int = 2000, tolerance: float = 1e-10) -> np.ndarray:
    """Weights of K base learners (columns of `probabilities`) minimising the cross-entropy of their
    mixture, by projected gradient descent with a backtracking step."""
    P, y = np.asarray(probabilities, dtype=float), np.asarray(y, dtype=float)
    k = P.shape[1]

    def loss(w: np.ndarray) -> float:
        m = np.clip(P @ w, EPS, 1 - EPS)
        return float(-np.mean(y * np.log(m) + (1 - y) * np.log(1 - m)))

    w, step = np.full(k, 1.0 / k), 1.0
    current = loss(w)
    for _ in range(steps):
        m = np.clip(P @ w, EPS, 1 - EPS)
        gradient = -P.T @ (y / m - (1 - y) / (1 - m)) / len(y)
        while True:
            candidate = project_simplex(w - step * gradient)
            new = loss(candidate)
            if new <= current or step < 1e-12:
                break
            step /= 2
        if current - new < tolerance:
            w, current = candidate, new
            break
        w, current, step = candidate, new, step * 2
    return w
