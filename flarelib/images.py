"""Magnetograms as CNN inputs: HMI subsampled 4x to MDI's pixel, then a bilinear resize (Section 2.6)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from flarelib.schema import SUBSAMPLE, subsample



def resize(field: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize to size x size, whatever the aspect ratio, as the study authors' `Resize`
    transform does it (`torch.nn.functional.grid_sample` on a grid from -1 to 1, align_corners=True:
    the corner pixels' centres map to the output's corners, and output pixel i samples the input
    at i (n - 1) / (size - 1)); `F.interpolate` with align_corners=True is that sampling."""
    tensor = torch.as_tensor(np.asarray(field, dtype=np.float32))[None, None]
    return F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=True)[0, 0].numpy()


def cnn_input(field: np.ndarray, series: str, size: int) -> np.ndarray:
    return resize(subsample(field, SUBSAMPLE[series]), size)


def last_record_images(store, rows: pd.DataFrame, size: int, workers: int = 0) -> np.ndarray:
    """The CNN input of each window (its last record), rendered or read once per record; only the
    pixels the subsampling keeps are asked of the store (the same input, `cnn_input`, for less),
    and region by region, so that a region's rendering grid is made once. From `PARALLEL_FROM`
    windows on, in `workers` processes (0: one per core), each on whole runs of a region's windows;
    the processes are spawned, so a script that calls this needs the `if __name__ == "__main__":`
    guard, as the sweep's local cluster does (notebooks need nothing)."""
    order = np.lexsort((rows.end.to_numpy(), rows.ARPNUM.to_numpy(), rows.SERIES.to_numpy()))
    out = np.empty((len(rows), size, size), dtype=np.float32)
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(rows) >= PARALLEL_FROM and not multiprocessing.current_process().daemon:  # a daemon has no children
        parts = np.array_split(order, workers)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            jobs = [pool.submit(_render, store.folder, rows.iloc[part], size) for part in parts]
            for part, job in zip(parts, jobs):
                out[part] = job.result()
        return out
    series, arpnums, ends = rows.SERIES.to_numpy(), rows.ARPNUM.to_numpy(), rows.end.to_numpy()
    for i in tqdm(order, desc="images", disable=None):
        field, _ = store.magnetogram(series[i], arpnums[i], pd.Timestamp(ends[i]), every=SUBSAMPLE[series[i]])
        out[i] = resize(np.nan_to_num(field), size)
    return out


PARALLEL_FROM = 2000  # windows: below, a process that opens the store anew (about 2 s) does not pay


def _render(folder, rows: pd.DataFrame, size: int) -> np.ndarray:
    """`last_record_images` in a worker process, on the store in `folder`."""
    from flarelib.sources.store import open_store

    return last_record_images(open_store(folder), rows, size, workers=1)


class ImageCache:
    """Last-record CNN inputs rendered once per window (by the window's index) and reused across
    folds, seeds and models; call it with windows as `last_record_images`."""

    def __init__(self, store, size: int):
        self.store, self.size, self.cache = store, size, {}

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        todo = rows.loc[[i for i in rows.index if i not in self.cache]]
        if len(todo):
            self.cache.update(zip(todo.index, last_record_images(self.store, todo, self.size)))
        return np.stack([self.cache[i] for i in rows.index]) if len(rows) else np.zeros((0, self.size, self.size), np.float32)

    def prefetch(self, rows: pd.DataFrame) -> None:
        """Render at once (on every core when they are many) the windows not yet cached."""
        self(rows.loc[~rows.index.duplicated() & ~rows.index.isin(list(self.cache))])
