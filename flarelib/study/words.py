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


def attribution_words(trends: pd.DataFrame, layers: pd.DataFrame, detail: int | None, rises: pd.DataFrame,
                      min_rise: float, n: int, completeness_error: float, frames: pd.DataFrame) -> list[str]:
    """Chapter 08 in words: whether the CNN's forecasts over the bipole grid move as the world's flares
    do, which Grad-CAM layer has spatial detail, which regions' forecasts rose enough to explain,
    Integrated Gradients' completeness, and the inversion-line ratio beside its ``|B|`` control.

    Parameters
    ----------
    trends : `attribution.grid_trends` (amplitude first, separation second).
    layers, detail : `attribution.gradcam_layers` and the layer `attribution.detailed_layer` chose.
    rises, min_rise : `sequences.forecast_rise` of the candidates, and the rise a region needed.
    n : at most this many regions are explained (`attribution_sequences`).
    completeness_error : `sequences.completeness_error`.
    frames : `sequences.inversion_line_table` (empty when no region was explained).
    """
    from flarelib.attribution.methods import GRADCAM_MIN_SIDE

    detail_words = f"at least {GRADCAM_MIN_SIDE} pixels a side and some maps not empty"
    b0, rho = float(trends.Spearman.iloc[0]), float(trends.Spearman.iloc[1])
    learned = "as a CNN that learned the world's rule should" if b0 > 0 and rho < 0 else "not as the world's rule would have it"
    words = [f"Over the bipole grid the CNN's probability {'rises' if b0 > 0 else 'falls'} with the amplitude (Spearman "
             f"{b0:+.2f}) and {'rises' if rho > 0 else 'falls'} with the separation ({rho:+.2f}), {learned}."]
    last = layers.iloc[-1]
    if detail is None:
        words.append(f"No convolution's Grad-CAM map has {detail_words}, so Grad-CAM is not shown beyond the last one.")
    else:
        chosen = layers.set_index("index").loc[detail]
        words.append(f"Grad-CAM at the last convolution maps {last['map side (px)']} pixels a side (maps of different bipoles "
                     f"alike at r = {last['maps alike (mean r)']:.2f}); {chosen.layer}, {chosen['map side (px)']} pixels a side "
                     f"(r = {chosen['maps alike (mean r)']:.2f}), is the deepest with {detail_words} and is shown beside it.")
    up = rises[rises.rise >= min_rise]
    if up.empty:
        words.append(f"None of the {len(rises)} candidate regions had an out-of-fold forecast that rose by {min_rise:g} or more "
                     "from its quiet record to its imminent one, so no region's change is explained.")
        return words
    shown = up.sort_values("rise", ascending=False).head(n)
    words.append(f"Of {len(rises)} candidate regions, {len(up)} had an out-of-fold forecast that rose by at least {min_rise:g}; "
                 + ("explained: " if len(shown) == len(up) else f"the {len(shown)} that rose most are explained: ") + ", ".join(f"HARP {a} ({q:.3f} to {i:.3f})" for a, q, i in
                                           zip(shown.ARPNUM, shown["forecast when quiet"], shown["forecast when imminent"]))
                 + f". Integrated Gradients' maps sum to the change of forecast within {completeness_error:.1e}.")
    if len(frames):
        gap = frames["ratio - |B| ratio"].dropna()
        margin = 2 * gap.std(ddof=1) / np.sqrt(len(gap)) if len(gap) > 1 else np.inf
        verdict = ("more than a map of |B| alone puts there" if gap.mean() > margin else
                   "less than a map of |B| alone puts there" if gap.mean() < -margin else
                   "no more than a map of |B| alone puts there, within twice its standard error")
        words.append(f"Near strong-field inversion lines the positive attribution is {frames['ratio'].mean():.1f} times the "
                     f"pixel share there and the |B| control {frames['|B| ratio'].mean():.1f} times, over {len(frames)} frames: "
                     f"the CNN's evidence sits there {verdict} (difference {gap.mean():+.1f} +- {margin / 2:.1f}).")
    return words


def learning_words(curve: pd.DataFrame, model: str, baseline: str) -> list[str]:
    """A learning curve (`training.learning_curve`) in words: what the model and the baseline scored on
    the fewest and on all training windows, and which leads at full size."""
    first, last = curve.iloc[0], curve.iloc[-1]
    gain = last[model] - first[model]
    lead = last[model] - last[baseline]
    return [f"With {first['training windows']:.0f} training windows the {model} scored test TSS {first[model]:.3f} and "
            f"{baseline} {first[baseline]:.3f}; with all {last['training windows']:.0f}, {last[model]:.3f} and "
            f"{last[baseline]:.3f}: the {model} " + (f"{'gained' if gain > 0 else 'lost'} {abs(gain):.3f}" if round(gain, 3) else
                                                    "gained nothing") + " from the extra windows and "
            + (f"leads the image baseline by {lead:.3f}." if round(lead, 3) > 0 else
               f"trails the image baseline by {-lead:.3f}." if round(lead, 3) < 0 else "ties the image baseline.")]
