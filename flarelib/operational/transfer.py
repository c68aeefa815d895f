"""Cross-cycle transfer (chapter 09, section 4): on a fused dataset, train on the target's own cycle,
on the other cycle only, on both concatenated (the study's fusion), and on the other cycle then
fine-tuned on the target's; compare them on the same test windows."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import torch

from flarelib.datasets import undersample
from flarelib.metrics import scores
from flarelib.schema import to_window_names
from flarelib.seeding import rng_for
from flarelib.significance import bootstrap_ci, paired_greater, seed_statistic


TRANSFER_VARIANTS = ["own cycle", "other cycle", "concatenated", "fine-tuned"]


TRANSFER_COLUMNS = ["variant", "target", "n_train", "epochs", "TSS", "AUC", "BSS", "ACC"]


def _balanced(mask: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row indices of `mask`, balanced by the study's undersampling (`datasets.undersample`)."""
    rows = np.flatnonzero(mask)
    return undersample(pd.DataFrame({"label": labels[rows] == 1}, index=rows), rng).index.to_numpy()


def transfer(ds, model_name: str, settings, image_size: int) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """On a fused dataset file (target instrument's val and test; training = target's training
    regions + every region of the other instrument): train on the target's cycle only, on the other
    cycle only (each subset balanced again), on both concatenated (the study's fusion), and on the
    other cycle then fine-tuned on the target's (the study's suggestion). Returns test scores of each
    on the same test windows, and their test predictions (for region bootstraps)."""
    from flarelib.training import fit, predict

    split, series = ds.split.values, ds.series.values
    if not (split == "test").any() or not (split == "val").any():
        return pd.DataFrame(columns=TRANSFER_COLUMNS), {}
    target = str(series[split == "test"][0])
    x = torch.as_tensor(ds.sequence.values if model_name == "LSTM" else ds.image.values)
    labels = ds.label.values.astype(int)
    y = torch.as_tensor(labels)
    pick = lambda rows: (x[rows], y[rows])
    train, val, test = split == "train", pick(split == "val"), pick(split == "test")
    rng = rng_for(settings.seed, "transfer", target)
    own = pick(_balanced(train & (series == target), labels, rng))
    other = pick(_balanced(train & (series != target), labels, rng))
    if not len(own[1]) or not len(other[1]):  # a cycle without a positive training window: nothing to compare
        return pd.DataFrame(columns=TRANSFER_COLUMNS), {}
    models = {"own cycle": fit(model_name, own, val, settings, image_size),
              "other cycle": fit(model_name, other, val, settings, image_size),
              "concatenated": fit(model_name, pick(train), val, settings, image_size)}
    models["fine-tuned"] = fit(model_name, own, val, settings, image_size,
                               init_state={k: v.cpu() for k, v in models["other cycle"].model.state_dict().items()})
    n_train = {"own cycle": len(own[1]), "other cycle": len(other[1]), "concatenated": int(train.sum()),
               "fine-tuned": len(own[1])}
    rows, predictions = [], {}
    base = pd.DataFrame({"series": series[split == "test"], "arpnum": ds.arpnum.values[split == "test"], "label": test[1].numpy()})
    for variant in TRANSFER_VARIANTS:
        prob = predict(models[variant].model, test[0])
        predictions[variant] = base.assign(prob=prob)
        rows.append({"variant": variant, "target": target, "n_train": n_train[variant], "epochs": len(models[variant].history),
                     **{k: v for k, v in scores(test[1].numpy(), prob).items() if k in ("TSS", "AUC", "BSS", "ACC")}})
    return pd.DataFrame(rows), predictions


def transfer_significance(transfer_table: pd.DataFrame, predictions: pd.DataFrame, n_boot: int = 300,
                          seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per target and model: the one-sided paired t-test of fine-tuned > concatenated (TSS over
    seeds), and each variant's mean TSS with a 95% interval from resampling test regions per seed.
    `predictions` stacks `transfer`'s test predictions with variant, model and seed columns."""
    tests, intervals = [], []
    for (target, model), part in transfer_table.groupby(["target", "model"]) if len(transfer_table) else []:
        wide = part.pivot_table(index="seed", columns="variant", values="TSS")
        t, p = paired_greater(wide["fine-tuned"], wide["concatenated"]) if len(wide) > 1 else (np.nan, np.nan)
        tests.append({"target": target, "model": model, "H1": "fine-tuned > concatenated (TSS)", "t": t, "p": p, "n": len(wide)})
        for variant in TRANSFER_VARIANTS:
            mine = predictions[(predictions.variant == variant) & (predictions.model == model) & (predictions.series == target)]
            value, low, high = bootstrap_ci(to_window_names(mine), seed_statistic("TSS"), ["ARPNUM"],
                                            n_boot=n_boot, seed=seed, strata="seed")
            intervals.append({"target": target, "model": model, "variant": variant, "TSS": value, "95% low": low, "95% high": high})
    return pd.DataFrame(tests), pd.DataFrame(intervals)



def transfer_runs(datasets_dir: Path, datasets: list[str], models: list[str], seeds: list[int],
                  train_params: Mapping[str, Any], image_size: int,
                  progress: Callable[[str], None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`transfer` on every fused dataset of `datasets`, every model and seed: the scores of all runs
    (with dataset, model and seed columns) and their test predictions (with variant too).

    Parameters
    ----------
    datasets_dir : chapter 03's dataset folder.
    datasets, models, seeds : what to run (only fused datasets transfer).
    train_params : the run's training parameters (`TrainSettings.from_params`).
    image_size : the CNN's input size.
    progress : hears about every experiment finished.
    """
    from flarelib.datasets import dataset_path, read_dataset
    from flarelib.training import TrainSettings

    tables, predictions = [], []
    for name in [d for d in datasets if d.startswith("FUSED_")]:
        for model in models:
            for seed in seeds:
                table, predicted = transfer(read_dataset(dataset_path(datasets_dir, name, seed)), model,
                                            TrainSettings.from_params(train_params, model, seed), image_size)
                if len(table):
                    tables.append(table.assign(dataset=name, model=model, seed=seed))
                predictions += [p.assign(variant=v, dataset=name, model=model, seed=seed) for v, p in predicted.items()]
                if progress is not None:
                    progress(f"transfer {name} {model} seed {seed}: four variants trained")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=TRANSFER_COLUMNS)
    return table, pd.concat(predictions, ignore_index=True) if predictions else pd.DataFrame()
