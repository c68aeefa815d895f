"""What a run shows, in sentences computed from its records: the "What this run shows" paragraphs that
end chapters 04 to 07. Every number in them comes from the tables passed in, so a sentence cannot
contradict its page; a sentence about something the run did not do is not written."""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_markdown(sentences: list[str]) -> str:
    """The sentences as one paragraph under the heading the chapters use."""
    return "**What this run shows.** " + " ".join(sentences)


def training_words(model: str, history: pd.DataFrame, best_epoch: int, max_epochs: int, test: dict) -> list[str]:
    """A training run in words: how long it trained and why it stopped, what its validation loss did,
    and its test scores.

    Parameters
    ----------
    model : "LSTM" or "CNN".
    history : one row per epoch (`epoch`, `train_loss`, `val_loss`, `val_tss`).
    best_epoch : the epoch kept (best validation TSS).
    max_epochs : the most it could train.
    test : the test scores (`metrics.scores`: TSS, AUC, BSS, TP, FN, FP, TN).
    """
    epochs = len(history)
    stop = (f"it ran all {max_epochs} epochs" if epochs >= max_epochs else
            f"it stopped after {epochs} of at most {max_epochs} epochs, its validation TSS no better for the patience")
    best_tss = float(history.set_index("epoch").val_tss[best_epoch])
    words = [f"The {model} kept epoch {best_epoch} (best validation TSS {best_tss:.3f}); {stop}."]
    loss = history.val_loss.to_numpy(dtype=float)
    if epochs >= 2:
        low = int(np.argmin(loss)) + 1
        trend = (f"its validation loss fell from {loss[0]:.3f} to its lowest, {loss[low - 1]:.3f}, at epoch {low}"
                 + (f", then rose to {loss[-1]:.3f} by epoch {epochs}: the model was fitting its training set more "
                    "than the validation regions" if loss[-1] > 1.2 * loss[low - 1] and low < epochs else ""))
        words.append(f"Over its epochs {trend}.")
    if np.isfinite(test.get("TSS", np.nan)):
        hits, alarms = test["TP"] / max(test["TP"] + test["FN"], 1), test["FP"] / max(test["FP"] + test["TN"], 1)
        words.append(f"On the test set it scored TSS {test['TSS']:.3f} (hit rate {hits:.3f}, false-alarm rate {alarms:.3f}), "
                     f"AUC {test['AUC']:.3f} and BSS {test['BSS']:.3f}.")
    else:
        words.append("Its test set lacks a class, so it has no skill score here.")
    return words


def sweep_words(metrics: pd.DataFrame, stacked: pd.DataFrame) -> list[str]:
    """The sweep in words: early stops, the seed that drives a fused-single difference, what BEST and
    the stacking criteria chose and how they did on test."""
    words = []
    deep = metrics[metrics.model.isin(["LSTM", "CNN"])]
    early = deep[deep.best_epoch == 1]
    if len(deep):
        words.append(f"Of {len(deep)} deep-model cells, {len(early)} kept the model of the first epoch"
                     + (f" ({', '.join(sorted(f'{r.dataset} {r.model} seed {r.seed}' for r in early.itertuples())[:4])}"
                        f"{', ...' if len(early) > 4 else ''})" if len(early) else "") + ".")
    driven = [d for model in ("LSTM", "CNN") for d in _driving_seeds(metrics, model)]
    if driven:
        words.append("One seed drives a fused-single difference: " + "; ".join(driven) + ".")
    if len(stacked) and {"BEST", "TSS"} <= set(stacked.method):
        words.append(_stacking_words(stacked))
    return words


def _driving_seeds(metrics: pd.DataFrame, model: str) -> list[str]:
    """Each fused-single TSS difference of a model that one seed drives: the seed's difference has the
    sign of the total and more than half of it, so without it the others tell another story."""
    from flarelib.significance import GROUPS

    found = []
    for fused, single in GROUPS.values():
        part = metrics[(metrics.model == model) & metrics.dataset.isin([fused, single])]
        wide = part.pivot_table(index="seed", columns="dataset", values="TSS").dropna()
        if len(wide) < 3 or not {fused, single} <= set(wide.columns):
            continue
        delta = wide[fused] - wide[single]
        top, total = delta.abs().idxmax(), delta.sum()
        if total != 0 and np.sign(delta[top]) == np.sign(total) and abs(delta[top]) > 0.5 * abs(total):
            found.append(f"{model} {fused} - {single}, seed {top} gives {delta[top]:+.3f} of a total {total:+.3f} over "
                         f"{len(delta)} seeds (the others average {delta.drop(top).mean():+.3f})")
    return found


def _stacking_words(stacked: pd.DataFrame) -> str:
    means = stacked.groupby("method").TSS.mean()
    best_method = means.drop(labels=["LSTM", "CNN"], errors="ignore").idxmax()
    picked = stacked[stacked.method == "BEST"].alpha.map({1.0: "the LSTM", 0.0: "the CNN"}).value_counts()
    return (f"BEST, the model better on validation, picked " + " and ".join(f"{m} in {n}" for m, n in picked.items())
            + f" of {int(picked.sum())} experiments; on test it averaged TSS {means['BEST']:.3f} against stacking by TSS's "
            f"{means['TSS']:.3f}, and the best method on test was {best_method} ({means[best_method]:.3f}).")


def significance_words(family: pd.DataFrame, effects: pd.DataFrame, activity: pd.DataFrame) -> list[str]:
    """Chapter 07 in words: how many tests pass Holm within their families, each finding's verdict, and
    how the LSTM's hits split between quiet and active observation periods."""
    distinct = family[(family["same test as"].fillna("") == "") & family.p.notna()]
    passing = distinct[distinct["p Holm"] < 0.05]
    named = "; ".join(f"{r.metric} {r.comparison}" + (f" ({r.dataset})" if isinstance(r.dataset, str) else
                                                      f" ({r.model})" if isinstance(r.model, str) else "")
                      for r in passing.itertuples())
    words = [f"{len(passing)} of {len(distinct)} distinct tests pass p < 0.05 after Holm within their families"
             + (f": {named}" if 0 < len(passing) <= 3 else "") + "."]
    for number, part in effects.groupby("finding"):
        verdicts = part.verdict.value_counts()
        words.append(f"Finding {number}: " + ", ".join(f"{v} ({n} of {len(part)} comparisons)" for v, n in verdicts.items()) + ".")
    lstm = activity[activity.model == "LSTM"]
    if len(lstm):
        quiet, active = lstm["hit rate, quiet observation"].mean(), lstm["hit rate, active observation"].mean()
        persist = activity[activity.model == "PERSIST_ANY"]
        said = (f"The LSTM catches {quiet:.3f} of the positives after a quiet observation period and {active:.3f} of those "
                f"after an active one (means over datasets and seeds)")
        if len(persist):
            said += f"; persistence of any flare catches {persist['hit rate, active observation'].mean():.3f} of the latter"
        words.append(said + ".")
    return words


def operational_words(scores: pd.DataFrame, disk: pd.DataFrame, transfer: pd.DataFrame, table5: pd.DataFrame) -> list[str]:
    """Chapter 09 in words: where recalibration helped and where it did not, whether any full-disk
    forecast has skill, and why the transfer study's "own cycle" is not chapter 07's single dataset.

    Parameters
    ----------
    scores : the sweep's forecasts at the real event rate, per method (raw, prior, isotonic, ...).
    disk : the full-disk scores, one row per forecast.
    transfer : the transfer runs (`variant`, `target`, `n_train`, `TSS`, `seed`).
    table5 : chapter 03's Table 5 (training positives and negatives per dataset and seed).
    """
    words = []
    bss = scores.groupby(["method", "dataset", "model"]).BSS.mean().unstack("method")
    if {"raw", "isotonic"} <= set(bss.columns):
        words.append(f"At the real event rate (test {scores.event_rate.mean():.3f}) the raw probabilities score BSS from "
                     f"{bss.raw.min():.3f} to {bss.raw.max():.3f}.")
        better = bss[bss.isotonic > 0]
        said = (f"Isotonic recalibration on validation regions brings BSS above 0 in {len(better)} of {len(bss)} "
                "dataset and model pairs")
        worse = bss[bss.isotonic <= 0]
        if len(worse):
            d, m = worse.isotonic.idxmin()
            said += f"; not in {len(worse)}, the worst {d} {m} at {worse.isotonic.min():.3f}"
        words.append(said + ".")
    if len(disk):
        skilled = disk[disk.BSS > 0]
        words.append(f"{len(skilled)} of {len(disk)} full-disk forecasts have a BSS above 0 (the best: {disk.BSS.idxmax()}, "
                     f"{disk.BSS.max():.3f}), with {disk['mean regions on disk'].mean():.2f} regions on the disk on average.")
    own = transfer[transfer.variant == "own cycle"] if len(transfer) else transfer
    if len(own):
        row = own.iloc[0]
        single = f"{row.target}_ONLY"
        if (single, row.seed) in table5.index:
            n_single = int(table5.loc[(single, row.seed), ["train positive", "train negative"]].sum())
            same = ("as many as" if n_single == int(row.n_train) else "not the")
            words.append(f"The transfer study's 'own cycle' model ({row.target}, seed {row.seed}) trains on {int(row.n_train)} "
                         f"windows, the target's share of the fused file balanced again: {same} {n_single} of "
                         f"{single}'s own undersampling in chapters 06 and 07, and other negatives, so its scores differ "
                         "from theirs by the training windows as well as by chance.")
    return words
