"""The sweep on a real dask cluster: a `dask scheduler` and two `dask worker` processes on loopback,
reached through `scheduler_address` as a user's cluster would be; one worker is killed half-way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from flarelib.sweep import cells, collect, run_sweep
from tests.toy import SETTINGS, write_toy_datasets

DASK = Path(sys.executable).with_name("dask")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_workers(address: str, n: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(n, timeout=timeout)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers without nannies (a killed worker stays dead); all
    on 127.0.0.1, and each stops by itself if the test does not stop it (idle and death timeouts)."""
    if not DASK.exists():
        pytest.skip(f"no dask command beside {sys.executable}")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    quiet = dict(stdout=subprocess.DEVNULL, stderr=open(tmp_path / "cluster.log", "w"), env=env)
    scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                                  "--idle-timeout", "300s"], **quiet)
    workers = [subprocess.Popen([str(DASK), "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                                 "--no-dashboard", "--name", f"w{i}", "--death-timeout", "30"], **quiet) for i in range(2)]
    try:
        wait_for_workers(address, 2)
        yield address, workers
    finally:
        for process in workers + [scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in workers + [scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_sweep_survives_a_killed_worker_and_matches_a_local_run(cluster, tmp_path):
    address, workers = cluster
    write_toy_datasets(tmp_path, [0, 1, 2])
    todo = cells(["SHARP_ONLY", "FUSED_SHARP"], ["LSTM", "CNN"], [0, 1, 2])
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if "cells done" in line and workers[0].poll() is None:  # the first finished cell: kill a worker
            workers[0].send_signal(signal.SIGKILL)

    began = time.perf_counter()
    remote = run_sweep(todo, tmp_path, tmp_path / "remote", SETTINGS, 32, scheduler_address=address, log=log,
                       ensemble="off")
    assert workers[0].poll() is not None, "the worker was not killed half-way"
    assert not remote.failed and len(remote.done) == len(todo), lines
    local = run_sweep(todo, tmp_path, tmp_path / "local", SETTINGS, 32, workers=1, log=lambda _: None, ensemble="off")
    assert len(local.done) == len(todo)
    columns = ["dataset", "model", "seed", "ACC", "TSS", "BSS", "AUC", "best_epoch", "epochs"]
    (a, pa), (b, pb) = collect(todo, tmp_path / "remote"), collect(todo, tmp_path / "local")
    pd.testing.assert_frame_equal(a[columns], b[columns])
    pd.testing.assert_series_equal(pa.prob, pb.prob)
    assert time.perf_counter() - began < 600
