"""The Jupyter kernel the runner executes chapters in: registered for this interpreter, told it runs
under the runner (`RUNNER_ENV`), and writing its own stderr to a file rather than the terminal."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

KERNEL_NAME = "flare-compendium"
RUNNER_ENV = "FLARELIB_RUNNER"  # "1" in the kernels the runner starts (flarelib.compendium.notebook reads it)

KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]  # chapters' own output is kept; kernel chatter is not


def ensure_kernel() -> str:
    """Register a Jupyter kernel for this interpreter in its own prefix, so papermill runs the
    chapters in the environment that holds flarelib whatever other `python3` kernels exist."""
    import tempfile

    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(KERNEL_NAME)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() and spec.argv[-1:] == KERNEL_ARGUMENTS:
            return KERNEL_NAME
    except NoSuchKernel:
        pass
    with tempfile.TemporaryDirectory() as folder:
        write_kernel_spec(
            Path(folder) / KERNEL_NAME,
            overrides={"display_name": "Python (flare-compendium)"},
            extra_arguments=KERNEL_ARGUMENTS,
        )
        manager.install_kernel_spec(str(Path(folder) / KERNEL_NAME), KERNEL_NAME, prefix=sys.prefix)
    return KERNEL_NAME


def kernel_manager_logging_to(path: Path) -> type:
    """A kernel manager whose kernel writes its own stderr (not the chapter's: that is in the notebook and
    chapter.log) to `path`. A kernel shut down under a running cell, as Ctrl-C on `flarelib run` does,
    logs its closed sockets there, not as twenty lines of zmq internals after the runner's one line
    saying how to resume."""
    from jupyter_client.manager import AsyncKernelManager

    class KernelLoggingToFile(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            with open(path, "ab") as stderr:
                kw["stderr"] = stderr
                await super()._async_launch_kernel(kernel_cmd, **kw)

    return KernelLoggingToFile


@contextmanager
def kernels_know_the_runner() -> Iterator[None]:
    """The kernels started meanwhile see `RUNNER_ENV`, so a chapter's `flarelib.use_run` leaves the
    injected parameters alone (`flarelib.compendium.notebook`)."""
    before = os.environ.get(RUNNER_ENV)
    os.environ[RUNNER_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RUNNER_ENV, None)
        else:
            os.environ[RUNNER_ENV] = before
