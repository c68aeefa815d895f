"""Shared fixtures: the real project root, and a tiny throwaway project for runner tests."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
if SHARED_DATA.is_dir():  # a verified copy of the registry's files: the tests' data folder
    os.environ.setdefault("FLARELIB_DATA_DIR", str(SHARED_DATA))


@pytest.fixture
def root() -> Path:
    return ROOT


def make_notebook(path: Path, parameters: dict, body: str, needs: list[str] | None = None) -> None:
    """A chapter notebook: a tagged parameters cell, then `body` (which may use run_dir)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if needs is not None:
        nb.metadata["flarelib"] = {"needs": needs}
    lines = ['run_dir = "runs/x"'] + [f"{k} = {v!r}" for k, v in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"), cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


LOG_BODY = """
from pathlib import Path
run = Path(run_dir)
with open(run / "order.log", "a") as log:
    log.write("{name}\\n")
(run / "{name}").mkdir(exist_ok=True)
(run / "{name}" / "artifact.txt").write_text("made by {name}")
"""


class TinyProject:
    """Three chapters a, b, c in a throwaway root; c needs only a."""

    def __init__(self, folder: Path):
        self.root = folder
        (folder / "params").mkdir(parents=True)
        (folder / "notebooks").mkdir()
        (folder / "book").mkdir()
        (folder / "book" / "intro.md").write_text("# Tiny\n")
        toc = {"format": "jb-book", "root": "book/intro",
               "chapters": [{"file": "notebooks/01_a"}, {"file": "notebooks/02_b"}, {"file": "notebooks/03_c"}]}
        (folder / "_toc.yml").write_text(yaml.safe_dump(toc))
        (folder / "params" / "tiny.yaml").write_text("seed: 1\nimage_size: 32\n")
        self.write("01_a", {"seed": 0})
        self.write("02_b", {"image_size": 64})
        self.write("03_c", {"max_epochs": 20}, needs=["01_a"])

    def write(self, name: str, parameters: dict, needs: list[str] | None = None, extra: str = "") -> None:
        body = LOG_BODY.replace("{name}", name) + extra
        make_notebook(self.root / "notebooks" / f"{name}.ipynb", parameters, body, needs)

    @property
    def params_file(self) -> Path:
        return self.root / "params" / "tiny.yaml"


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TinyProject:
    project = TinyProject(tmp_path / "project")
    monkeypatch.setenv("FLARE_ROOT", str(project.root))
    return project


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (an OS-chosen port) that hands every GET to `handle`;
    `close` stops it. The tests' stand-ins for the services flarelib talks to."""

    def __init__(self):
        import http.server
        import threading

        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, handler) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send_bytes(handler, body: bytes, cut: bool = False) -> None:
    """Answer a GET with `body`, honouring a Range request; `cut` drops the connection half-way."""
    start = 0
    if rng := handler.headers.get("Range"):
        start = int(rng.split("=")[1].split("-")[0])
        if start >= len(body):
            handler.send_error(416)
            return
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
    else:
        handler.send_response(200)
    part = body[start:]
    handler.send_header("Content-Length", str(len(part)))
    handler.end_headers()
    if cut:
        handler.wfile.write(part[: len(part) // 2])
        handler.wfile.flush()
        handler.close_connection = True
        return
    handler.wfile.write(part)


class FileServer(LoopbackServer):
    """Serves files from a folder, honours Range requests, and can cut the connection half-way
    through the next responses (`cut_next`)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.requests: list[dict] = []
        self.cut_next = 0  # how many coming responses to cut half-way
        super().__init__()

    def handle(self, handler) -> None:
        from urllib.parse import unquote

        path = self.folder / unquote(handler.path.lstrip("/").split("?")[0])
        self.requests.append({"path": handler.path, "range": handler.headers.get("Range")})
        if not path.is_file():
            handler.send_error(404)
            return
        cut = self.cut_next > 0
        self.cut_next -= cut
        send_bytes(handler, path.read_bytes(), cut)


@pytest.fixture
def file_server(tmp_path: Path):
    folder = tmp_path / "served"
    folder.mkdir()
    server = FileServer(folder)
    yield server
    server.close()


def write_fits(path: Path, shape: tuple[int, int] = (40, 60), seed: int = 0, dtype=None) -> Path:
    """A small FITS image with checksums, like a JSOC export file."""
    import numpy as np
    from astropy.io import fits

    data = np.random.default_rng(seed).normal(0, 100, shape)
    if dtype is not None:
        data = data.astype(dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(data).writeto(path, checksum=True, overwrite=True)
    return path


ARCHIVE_SMALL = ["max_epochs=1", "n_experiments=2", "transfer_experiments=1", "datasets=[SHARP_ONLY, FUSED_SHARP]"]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """Every chapter on params/smoke.yaml, once per test session (the book and the site tests share it)."""
    from flarelib.compendium.params import load_params
    from flarelib.compendium.runner import run_chapters

    params, path = load_params("smoke")
    run_dir = tmp_path_factory.mktemp("smoke") / "runs" / "smoke"
    return run_dir, run_chapters(params, path, run_dir)


@pytest.fixture(scope="session")
def archive_small_run(tmp_path_factory):
    """params/archive.yaml with one epoch and two experiments, from an empty data folder that the
    registry fills from a loopback mirror of ../shared/data, as on a machine that has only a network;
    once per session. Returns the run folder, each chapter's status, the data folder and the mirror's requests."""
    from flarelib.compendium.params import load_params
    from flarelib.compendium.runner import run_chapters

    out = tmp_path_factory.mktemp("archive")
    mirror = FileServer(SHARED_DATA)
    try:
        with pytest.MonkeyPatch.context() as patch:  # the chapters' kernels inherit these
            patch.setenv("FLARELIB_DATA_DIR", str(out / "data"))
            patch.setenv("FLARELIB_DATA_URL", mirror.url)
            params, path = load_params("archive", ARCHIVE_SMALL)
            run_dir = out / "runs" / "archive"
            results = {r.name: r.status for r in run_chapters(params, path, run_dir)}
    finally:
        mirror.close()
    return run_dir, results, out / "data", mirror.requests
