"""The manifest: the real one loads, and every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course.curriculum import ManifestError, UnknownName, load_curriculum

REPO = Path(__file__).resolve().parents[2]


def test_the_real_manifest_loads_with_five_phases_in_order():
    curriculum = load_curriculum(REPO)
    assert [p.id for p in curriculum.phases] == [
        "phase1-foundations",
        "phase2-ml-dl",
        "phase3-mlops",
        "phase4-specialization",
        "phase5-first-role",
    ]
    phase1 = curriculum.phase("phase1-foundations")
    assert len(phase1.assignments[0].notebooks) >= 4 and phase1.requires == ()
    assert {t.id for t in curriculum.phase("phase4-specialization").tracks} == {"nlp", "cv"}
    for spec in phase1.assignments[0].notebooks:
        assert (REPO / "solutions" / "phase1-foundations" / spec.file).is_file()
        assert spec.core, f"{spec.file} names no core exercise"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "curriculum").mkdir(exist_ok=True)
    (tmp_path / "curriculum" / "manifest.yaml").write_text(text)
    return tmp_path


GOOD = """\
schema_version: 1
title: t
phases:
  - id: a
    title: A
    requires: []
    assignments:
      - id: a
        notebooks:
          - {file: 01-x.ipynb, title: X}
"""


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (GOOD.replace("schema_version: 1", "schema_version: 9"), "schema_version", "expected 1"),
        (GOOD.replace("requires: []", "requires: [zzz]"), "phases[a].requires", "not an earlier phase"),
        (GOOD.replace("01-x.ipynb", "01-x.txt"), "notebooks[0].file", "expected a .ipynb"),
        (GOOD.replace("title: A", "title: 3"), "phases[a].title", "non-empty string"),
        (GOOD + "defaults: {mastery: {min_notebook_score: 2}}\n", "min_notebook_score", "between 0 and 1"),
        (GOOD + "defaults: {mastery: {pass_mark: 2}}\n", "defaults.mastery.pass_mark", "unknown key"),
        (
            GOOD.replace("notebooks:\n          - {file: 01-x.ipynb, title: X}", "notebooks: []"),
            "phases[a].a",
            "needs notebooks",
        ),
        ("phases: [\n", "manifest.yaml", "not valid YAML"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path, text, key, problem):
    root = write(tmp_path, text)
    with pytest.raises(ManifestError) as info:
        load_curriculum(root)
    message = str(info.value)
    assert "manifest.yaml" in message and key in message and problem in message


def test_missing_manifest_says_where_to_run(tmp_path):
    with pytest.raises(ManifestError, match="not found; run autograder from the course directory"):
        load_curriculum(tmp_path)


def test_unknown_names_list_the_known_ones(tmp_path):
    curriculum = load_curriculum(write(tmp_path, GOOD))
    with pytest.raises(UnknownName, match="unknown assignment 'b'; the manifest lists: a"):
        curriculum.assignment("b")
    with pytest.raises(UnknownName, match="unknown phase 'b'; the manifest lists: a"):
        curriculum.phase("b")


TRACKS = """\
schema_version: 1
title: t
phases:
  - id: base
    title: Base
    requires: []
    assignments:
      - id: base
        notebooks:
          - {file: 01-x.ipynb, title: X}
  - id: spec
    title: Specialise
    requires: [base]
    tracks:
      - id: nlp
        title: Natural language processing
        assignments:
          - id: spec-nlp
            notebooks:
              - {file: 01-text.ipynb, title: Text}
      - id: cv
        title: Computer vision
        assignments:
          - id: spec-cv
            notebooks:
              - {file: 01-images.ipynb, title: Images}
      - id: rl
        title: Reinforcement learning
        assignments: []
"""


def test_start_takes_an_assignment_a_phase_or_a_phase_s_track(tmp_path):
    curriculum = load_curriculum(write(tmp_path, TRACKS))
    assert [a.id for a in curriculum.to_start("base")] == ["base"]
    assert [a.id for a in curriculum.to_start("spec", "nlp")] == ["spec-nlp"]
    assert [a.id for a in curriculum.to_start("spec", "cv")] == ["spec-cv"]
    assert [a.id for a in curriculum.to_start("spec-cv")] == ["spec-cv"]
    assert [a.id for a in curriculum.to_start("spec-cv", "cv")] == ["spec-cv"]


@pytest.mark.parametrize(
    ("name", "track", "says"),
    [
        ("spec", None, "spec has tracks; you gave no track: choose --track nlp (Natural language"),
        ("spec", "NLP", "you gave the track 'NLP', which it does not have: choose --track nlp"),
        ("spec", "rl", "the rl track of spec has no notebooks yet"),
        ("base", "nlp", "base has no tracks; start it without --track"),
        ("spec-cv", "nlp", "spec-cv is not an assignment of the track 'nlp'"),
        ("nope", None, "unknown assignment 'nope'"),
    ],
)
def test_a_wrong_or_missing_track_gets_one_line_naming_the_choices(tmp_path, name, track, says):
    curriculum = load_curriculum(write(tmp_path, TRACKS))
    with pytest.raises(UnknownName) as caught:
        curriculum.to_start(name, track)
    assert says in str(caught.value) and "\n" not in str(caught.value)
    if name == "spec" and track != "rl":
        assert "--track cv (Computer vision)" in str(caught.value)
