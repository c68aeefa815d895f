"""Small dataset files for sweep tests: two datasets, balanced, with a signal both models can learn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.datasets import to_xarray


def write_toy_datasets(folder, seeds):
    rng = np.random.default_rng(0)
    for seed in seeds:
        for name in ("SHARP_ONLY", "FUSED_SHARP"):
            n = 60
            label = np.tile([0, 1], n // 2)
            frame = pd.DataFrame({"split": np.repeat(["train", "val", "test"], 20), "label": label, "SERIES": "SHARP",
                                  "ARPNUM": np.arange(n) // 5, "end": pd.Timestamp("2012-01-01") + pd.to_timedelta(np.arange(n), unit="h")})
            seq = rng.normal(0, 1, (n, 16, 4)).astype(np.float32) + label[:, None, None]
            img = rng.normal(0, 1, (n, 32, 32)).astype(np.float32) + label[:, None, None]
            to_xarray(frame, seq, img, ["USFLUXL", "MEANGBL", "R_VALUE", "AREA"], {}).to_netcdf(
                folder / f"{name}_seed{seed}.nc", engine="h5netcdf")


SETTINGS = dict(max_epochs=2, lstm_patience=5, cnn_patience=10, batch_size=16, learning_rate=1e-3)
