"""Packaging: environment.yml and pyproject.toml pin the same packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip) == sorted(project["dependencies"])
    assert "python=3.11" in env["dependencies"]
    assert project["scripts"]["autograder"] == "autograder.cli:run"


def test_everything_is_pinned_and_torch_is_the_cpu_build_on_disk():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all("==" in d for d in deps), [d for d in deps if "==" not in d]
    assert "torch==2.13.0" in deps
    names = {d.split("==")[0] for d in deps}
    assert {"nbgrader", "jupyterlab", "papermill", "nbval", "scikit-learn", "pandas", "pytest"} <= names
    assert next(d for d in deps if d.startswith("nbgrader==")).startswith("nbgrader==0.9.")
    assert next(d for d in deps if d.startswith("jupyterlab==")).startswith("jupyterlab==4.")


def test_pandas_keeps_python_strings():
    """No dependency may pull in pyarrow (full ``mlflow`` does; we pin ``mlflow-skinny``): with
    it, pandas 3 stores strings in Arrow, which refuses text an honest learner can make (a
    lone surrogate) and changes how learners' string columns behave."""
    import importlib.util

    import pandas as pd

    assert importlib.util.find_spec("pyarrow") is None
    assert pd.Series(["a"]).array.dtype.storage == "python"
