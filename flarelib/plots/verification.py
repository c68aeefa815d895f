"""Verification figures (Figures 6-8 of the study): reliability diagram, ROC, skill-score profile,
with the learning curves and the stacking figures (9-11).

Each takes one or several runs, as (labels, probabilities) pairs, and draws the mean over runs with
a one-sigma band or error bars, so the same functions serve one model and a sweep of seeds.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_curve

from flarelib.plots.layout import WIDTH, caption_title, panel_grid
from flarelib.metrics import tss_profile

Run = tuple[np.ndarray, np.ndarray]
BINS = np.linspace(0, 1, 11)
GRID = np.linspace(0, 1, 101)


def reliability(y: np.ndarray, prob: np.ndarray, bins: np.ndarray = BINS) -> tuple[np.ndarray, np.ndarray]:
    """Observed frequency (NaN where empty) and number of forecasts in each probability bin."""
    which = np.clip(np.digitize(prob, bins[1:-1]), 0, len(bins) - 2)
    counts = np.bincount(which, minlength=len(bins) - 1)
    hits = np.bincount(which, weights=np.asarray(y, dtype=float), minlength=len(bins) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / counts, np.nan), counts


def _mean_std(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    stack = np.vstack(rows)
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(stack, axis=0), np.nanstd(stack, axis=0)


def plot_reliability(runs: dict[str, Sequence[Run]], ax=None, bins: np.ndarray = BINS, legend: bool = True) -> plt.Axes:
    """Observed frequency against forecast probability, with bin counts as bars and the no-skill line."""
    ax = ax or plt.subplots(figsize=(4.5, 4.5))[1]
    centres = (bins[:-1] + bins[1:]) / 2
    counts_ax = ax.twinx()
    width = (bins[1] - bins[0]) / (len(runs) + 1)
    climatology = np.mean([np.mean(y) for group in runs.values() for y, _ in group])
    for k, (name, group) in enumerate(runs.items()):
        freq = [reliability(y, p, bins) for y, p in group]
        mean, std = _mean_std([f for f, _ in freq])
        shift = (k - (len(runs) - 1) / 2) * width * 0.3  # separate the error bars of several groups
        ax.errorbar(centres + shift, mean, yerr=std, marker="o", ms=3, capsize=2, label=f"{name} ({len(group)} runs)")
        counts_ax.bar(centres + (k - (len(runs) - 1) / 2) * width, np.mean([c for _, c in freq], axis=0), width=width,
                      alpha=0.25)
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect reliability")
    ax.plot([0, 1], [climatology / 2, (1 + climatology) / 2], "k--", lw=0.8, label="no skill")
    counts_ax.set_ylabel("forecasts per bin")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="forecast probability", ylabel="observed frequency", title="Reliability")
    ax.set_zorder(counts_ax.get_zorder() + 1)
    ax.patch.set_visible(False)
    if legend:
        ax.legend(frameon=False, loc="upper left")
    return ax


def plot_roc(runs: dict[str, Sequence[Run]], ax=None, legend: bool = True) -> plt.Axes:
    """ROC curves interpolated on a common false-alarm grid; mean and one-sigma band over runs."""
    ax = ax or plt.subplots(figsize=(4.5, 4.5))[1]
    for name, group in runs.items():
        curves = []
        for y, p in group:
            fpr, tpr, _ = roc_curve(y, p)
            curves.append(np.interp(GRID, fpr, tpr))
        mean, std = _mean_std(curves)
        line, = ax.plot(GRID, mean, label=name)
        ax.fill_between(GRID, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false-alarm rate (POFD)", ylabel="hit rate (POD)", title="ROC")
    if legend:
        ax.legend(frameon=False, loc="lower right")
    return ax


def plot_skill_profile(runs: dict[str, Sequence[Run]], ax=None, legend: bool = True) -> plt.Axes:
    """TSS against the probability threshold; mean and one-sigma band over runs."""
    ax = ax or plt.subplots(figsize=(4.5, 4.5))[1]
    thresholds = GRID[1:-1]
    for name, group in runs.items():
        mean, std = _mean_std([tss_profile(y, p, thresholds) for y, p in group])
        line, = ax.plot(thresholds, mean, label=name)
        ax.fill_between(thresholds, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.axvline(0.5, color="grey", lw=0.6, ls=":")
    ax.set(xlim=(0, 1), ylim=(-0.05, 1.05), xlabel="probability threshold", ylabel="TSS", title="Skill-score profile")
    if legend:
        ax.legend(frameon=False, loc="lower center")
    return ax


def usable_runs(runs: dict[str, Sequence[Run]]) -> dict[str, list[Run]]:
    """The runs that hold both classes (the others have no ROC or TSS); groups left empty are dropped."""
    kept = {name: [(y, p) for y, p in group if len(np.unique(y)) == 2] for name, group in runs.items()}
    return {name: group for name, group in kept.items() if group}


def verification_figure(runs: dict[str, Sequence[Run]], caption: str) -> plt.Figure:
    """The three verification panels in a grid of two columns, the fourth cell naming the runs (runs
    lacking a class are left out)."""
    runs = usable_runs(runs)
    if not runs:
        fig, ax = plt.subplots(figsize=(6, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "No run has both positive and negative samples: nothing to verify.", ha="center", va="center")
        return fig
    fig, axes = panel_grid(4, panel=(4.0, 3.6))
    plot_reliability(runs, axes[0], legend=False)
    plot_roc(runs, axes[1], legend=False)
    plot_skill_profile(runs, axes[2], legend=False)
    axes[3].legend(*axes[0].get_legend_handles_labels(), loc="center", frameon=False)
    axes[3].axis("off")
    caption_title(fig, caption)
    fig.tight_layout()
    return fig


def plot_history(history, caption: str) -> plt.Figure:
    """Learning curves: training and validation loss, and the validation TSS early stopping follows."""
    fig, (left, right) = panel_grid(2, panel=(4.0, 3.2))
    left.plot(history.epoch, history.train_loss, "o-", ms=3, label="training loss")
    left.plot(history.epoch, history.val_loss, "o-", ms=3, label="validation loss")
    left.set(xlabel="epoch", ylabel="cross-entropy")
    left.legend(frameon=False)
    right.plot(history.epoch, history.val_tss, "o-", ms=3, color="#2ca02c")
    best = history.assign(neg=-history.val_loss).sort_values(["val_tss", "neg"], ascending=False).iloc[0]
    right.axvline(best.epoch, color="grey", ls=":", lw=0.8, label=f"kept: epoch {int(best.epoch)}")
    right.set(xlabel="epoch", ylabel="validation TSS", ylim=(-0.05, 1.05))
    right.legend(frameon=False)
    caption_title(fig, caption)
    fig.tight_layout()
    return fig


STACKING_METHODS = ("LSTM", "CNN", "AVG", "BEST", "CROSS_ENTROPY", "BSS", "AUC", "TSS")


def plot_stacking_tss(stacked, caption: str, metric: str = "TSS") -> plt.Figure:
    """Figure 9: test TSS of the base learners, the baselines and the four stacking criteria per dataset."""
    import seaborn as sns

    datasets = list(dict.fromkeys(stacked.dataset))
    fig, axes = panel_grid(len(datasets), panel=(4.0, 3.6), sharey=True)
    for ax, dataset in zip(axes, datasets):
        part = stacked[stacked.dataset == dataset].dropna(subset=[metric])  # a one-class test set has no TSS
        if part.empty:
            ax.text(0.5, 0.5, f"no {metric}:\nno test set with both classes", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(dataset)
            continue
        sns.boxplot(data=part, x="method", y=metric, order=list(STACKING_METHODS), ax=ax, color="#9ecae1", fliersize=2)
        sns.stripplot(data=part, x="method", y=metric, order=list(STACKING_METHODS), ax=ax, color="k", size=2.5)
        ax.set_title(dataset)
        ax.set_xlabel("")
        ax.tick_params(axis="x", rotation=60)
    caption_title(fig, caption)
    fig.tight_layout()
    return fig


def plot_alphas(stacked, caption: str) -> plt.Figure:
    """Figure 10: the fitted weight alpha of the LSTM, per criterion and dataset."""
    import seaborn as sns

    part = stacked[stacked.method.isin(["CROSS_ENTROPY", "BSS", "AUC", "TSS"])].dropna(subset=["alpha"])
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    if part.empty:
        ax.text(0.5, 0.5, "no fitted weights: no validation set with both classes", ha="center", va="center", transform=ax.transAxes)
        return fig
    sns.boxplot(data=part, x="dataset", y="alpha", hue="method", ax=ax, fliersize=2)
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax.set(ylim=(-0.02, 1.02), ylabel="alpha (weight of the LSTM)", xlabel="")
    ax.legend(frameon=False, ncol=4, loc="lower center")
    caption_title(fig, caption)
    fig.tight_layout()
    return fig


def plot_one_experiment(splits: dict, alpha: float, oracle: float, accuracy: dict, caption: str) -> plt.Figure:
    """Figure 11: CNN against LSTM probabilities for train, validation and test, the decision boundary
    alpha p + (1 - alpha) q = 0.5 fitted on validation (and on test, the oracle), and ACC against alpha.

    Parameters
    ----------
    splits : per split, (labels, CNN probabilities, LSTM probabilities).
    alpha, oracle : the weight fitted on validation, and on test.
    accuracy : per split, ACC over the alpha grid.
    caption : the figure's caption (naming the data source).
    """
    fig, axes = panel_grid(4, panel=(4.0, 3.8))
    line = np.linspace(0, 1, 101)
    for ax, (name, table) in zip(axes[:3], splits.items()):
        for label, colour in ((0, "#3b75af"), (1, "#ef8636")):
            part = table[table.label == label]
            ax.scatter(part.p, part.q, s=8, alpha=0.6, color=colour, label="positive" if label else "negative")
        for a, style, text in ((alpha, "g-", f"validation alpha {alpha:.3f}"), (oracle, "m--", f"test oracle {oracle:.3f}")):
            if name != "train" and not np.isnan(a) and a < 1:
                ax.plot(line, (0.5 - a * line) / (1 - a), style, lw=1, label=text)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="LSTM probability p", ylabel="CNN probability q", title=name)
        ax.legend(frameon=False, loc="upper left")
    from flarelib.stacking import ALPHAS

    for name, curve in accuracy.items():
        axes[3].plot(ALPHAS, curve, label=name)
    if not np.isnan(alpha):
        axes[3].axvline(alpha, color="g", lw=0.8)
    axes[3].set(xlabel="alpha", ylabel="ACC", title="accuracy against alpha")
    axes[3].legend(frameon=False)
    caption_title(fig, caption)
    fig.tight_layout()
    return fig


FIGURES = {"SHARP": "figure6", "SMARP": "figure7"}  # the study's figure of each group of `significance.GROUPS`


def runs_of(test, dataset: str, model: str, column: str = "prob") -> list[Run]:
    """The (labels, probabilities in `column`) of each seed of one dataset and model, from a
    predictions table."""
    part = test[(test.dataset == dataset) & (test.model == model)]
    return [(g.label.astype(int).to_numpy(), g[column].to_numpy()) for _, g in part.groupby("seed")]


def study_figures(test, datasets: Sequence[str], models: Sequence[str], caption: str) -> dict[str, plt.Figure]:
    """The study's Figures 6-8 from the test predictions of a sweep, by figure name: each fused dataset
    beside its single-instrument one for every model (6: SHARP, 7: SMARP), and with several models,
    the models beside each other on every dataset (8)."""
    from flarelib.significance import GROUPS

    figures = {}
    present = set(test.dataset)
    for group, (fused, single) in GROUPS.items():
        for model in models if {fused, single} <= present else []:
            figures[f"{FIGURES[group]}_{model}"] = verification_figure({d: runs_of(test, d, model) for d in (fused, single)},
                                                               f"{model}. {caption}")
    for dataset in datasets if len(models) > 1 else []:
        figures[f"figure8_{dataset}"] = verification_figure({m: runs_of(test, dataset, m) for m in models},
                                                            f"{dataset}. {caption}")
    return figures


def plot_learning_curve(curve, model: str, baseline: str, caption: str) -> plt.Figure:
    """Test TSS against the number of training windows (`training.learning_curve`): the deep model and
    the baseline fitted on the same windows."""
    fig, ax = plt.subplots(figsize=(WIDTH * 0.6, 3.4), layout="constrained")
    ax.plot(curve["training windows"], curve[model], "o-", label=model)
    ax.plot(curve["training windows"], curve[baseline], "s--", label=f"{baseline} (same windows)")
    ax.set(xscale="log", xlabel="training windows", ylabel="test TSS", ylim=(min(0.0, curve[[model, baseline]].min().min()), 1.0))
    ax.legend(frameon=False)
    caption_title(fig, caption)
    return fig
