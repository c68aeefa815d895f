"""The course (#26): every chapter opens with learning goals and ends with exercises, each with a folded
solution; a solution that computes is executed on the smoke run, so it cannot rot, and every command a
"predict, then run" exercise gives is one the command line and the parameter sets accept."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import nbformat
import pytest

from flarelib.compendium.toc import chapters

ROOT = Path(__file__).resolve().parents[1]
SPECS = chapters(ROOT)
EXERCISE = re.compile(r"(?P<fence>`{3,})\{exercise\} (?P<title>.+)\n:label: (?P<label>[\w-]+)\n")
FENCED = re.compile(r"^(`{3,})\w+\n(.*?)\n\1$", re.S | re.M)  # a code block: its fence and its lines
SOLUTION = re.compile(r"````\{solution\} (?P<label>[\w-]+)\n:class: dropdown\n(?P<body>.*?)\n````", re.S)
PYTHON = re.compile(r"```python\n(.*?)\n```", re.S)
COMMAND = re.compile(r"`(flarelib run [^`]+)`|```bash\n(flarelib run [^\n]+)\n```")


def exercises(spec) -> list[dict]:
    cells = [c for c in nbformat.read(spec.notebook, as_version=4).cells if "exercise" in c.metadata.get("tags", [])]
    found = []
    for cell in cells:
        exercise, solution = EXERCISE.search(cell.source), SOLUTION.search(cell.source)
        found.append({"kind": cell.metadata["tags"][1], "title": exercise and exercise["title"], "label": exercise and exercise["label"],
                      "fence": exercise and exercise["fence"],
                      "solution": solution and solution["label"], "body": solution["body"] if solution else "",
                      "text": cell.source})
    return found


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_chapter_has_goals_and_two_to_four_exercises_each_with_its_solution(spec):
    opening = nbformat.read(spec.notebook, as_version=4).cells[0].source
    goals = opening.split("**You will be able to.**")[1].split("\n\n")[1]
    assert len(re.findall(r"^- \w", goals, re.M)) >= 2
    found = exercises(spec)
    assert 2 <= len(found) <= 4
    for exercise in found:
        assert exercise["label"] and exercise["solution"] == exercise["label"], exercise["text"][:200]
        assert exercise["kind"] in {"predict", "code", "interpret"}
        if exercise["kind"] == "code":
            assert PYTHON.search(exercise["body"]), f"{exercise['label']}: a write-it exercise's solution computes"
        question = exercise["text"].split("{solution}")[0]
        inner = re.findall(r"^(`{3,})\w", question, re.M)  # a fence inside the exercise would close a shorter one
        assert all(len(f) < len(exercise["fence"]) for f in inner), f"{exercise['label']}: open it with a longer fence"
        for fence, code in FENCED.findall(exercise["text"]):
            wide = [line for line in code.split("\n") if len(line) > 88]
            assert not wide, f"{exercise['label']}: code wider than 88 columns scrolls sideways on the page: {wide}"


# Decimal numbers a solution's prose may state: examples of reading a score, not numbers of a run.
ILLUSTRATIONS = {"ex-03-sampling-2": {"0.7"}}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_a_solutions_numbers_of_the_run_come_from_its_records(spec):
    """A solution states no number of the run in its prose (#35: "about 30" where the page said 35.2): its
    code reads them from the run folder and prints them, so they are the records' whatever the run."""
    for exercise in exercises(spec):
        prose = PYTHON.sub("", exercise["body"])
        quoted = set(re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", prose)) - ILLUSTRATIONS.get(exercise["label"], set())
        assert not quoted, f"{exercise['label']}: numbers typed into the solution's prose: {sorted(quoted)}"
        assert not re.search(r"\babout \d", prose), f"{exercise['label']}: an approximate number typed into the prose"
        for code in PYTHON.findall(exercise["body"]):
            assert "run_dir" in code, f"{exercise['label']}: a solution that computes reads this run's folder"


def test_the_course_has_all_three_kinds_and_unique_labels():
    found = [e for spec in SPECS for e in exercises(spec)]
    assert {e["kind"] for e in found} == {"predict", "code", "interpret"}
    labels = [e["label"] for e in found]
    assert len(labels) == len(set(labels))


def test_every_predict_command_and_the_course_plans_are_accepted_by_the_command_line_and_the_parameters():
    from flarelib.compendium.cli import _parser
    from flarelib.compendium.params import load_params
    from flarelib.compendium.runner import select

    commands = [m[0] or m[1] for spec in SPECS for e in exercises(spec) if e["kind"] == "predict"
                for m in COMMAND.findall(e["text"])]
    assert len(commands) >= 7
    course = [m[0] or m[1] for m in COMMAND.findall((ROOT / "book" / "teaching.md").read_text())]
    assert len(course) >= 8  # what to run before each session, and the teaching set
    for command in commands + course:
        args = _parser().parse_args(shlex.split(command)[1:])
        load_params(args.params, args.overrides)  # every -p names a real parameter with a valid value
        select(SPECS, args.only, args.start)  # and every chapter named exists


@pytest.mark.e2e
def test_every_computing_solution_runs_on_the_smoke_run(smoke_run):
    run_dir, _ = smoke_run
    ran = 0
    for spec in SPECS:
        for exercise in exercises(spec):
            for code in PYTHON.findall(exercise["body"]):
                exec(compile(code, f"<solution {exercise['label']}>", "exec"), {"run_dir": str(run_dir)})
                ran += 1
    assert ran >= 15
