"""The staged page "The synthetic world" ends with the run's world beside the real tables, or says
why it cannot (another source, or no tables when chapter 03 ran)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from flarelib.compendium.book import WORLD_FIGURES, with_world_beside_sun  # noqa: E402


def _run(tmp_path, source: str, world_vs_sun: dict | None):
    sampling = tmp_path / "run" / "03_sampling"
    (sampling / "figures").mkdir(parents=True)
    (sampling / "record.json").write_text(json.dumps({"source": source, "numbers": {"world_vs_sun": world_vs_sun}}))
    for name in WORLD_FIGURES:
        figure = plt.figure()
        figure.savefig(sampling / "figures" / f"{name}.png")
        plt.close(figure)
    pd.DataFrame({"SERIES": ["SHARP"], "keyword": ["AREA"], "ks": [0.1234]}).to_csv(sampling / "world_keyword_distances.csv", index=False)
    pd.DataFrame({"SERIES": ["SHARP"], "source": ["world"], "event rate": [0.04]}).to_csv(sampling / "world_regions.csv", index=False)
    page = tmp_path / "book" / "synthetic-world.md"
    page.parent.mkdir()
    page.write_text("# The synthetic world\n")
    return tmp_path / "run", page


def test_a_synthetic_run_with_the_tables_shows_its_figures_and_tables(tmp_path):
    run, page = _run(tmp_path, "synthetic", {"misses": ["SHARP AREA: KS 0.200 > 0.15"]})
    with_world_beside_sun(page, run)
    text = page.read_text()
    for name in WORLD_FIGURES:
        assert f"figures/{name}.png" in text and (page.parent / "figures" / f"{name}.png").exists()
    assert "| SHARP    | AREA      | 0.123 |" in text
    assert "Targets missed: SHARP AREA: KS 0.200 > 0.15." in text


def test_another_source_or_missing_tables_say_so(tmp_path):
    run, page = _run(tmp_path, "archive", None)
    with_world_beside_sun(page, run)
    assert "ran on the `archive` source" in page.read_text() and not (page.parent / "figures").exists()
    run, page = _run(tmp_path / "again", "synthetic", None)
    with_world_beside_sun(page, run)
    assert "window tables were not in the data folder" in page.read_text()
