# ruff: noqa: E501  (the library, tests and probes this script writes are embedded as text)
"""Build the git bundles, issue tracker and hidden suites of phase 3's 07-open-source notebook.

The notebook's learner clones a small ML library, ``tinyml``, from a git bundle, fixes one
of its open issues, rebases over a conflicting upstream commit and sends a patch series.
This script writes, deterministically (fixed author, committer and dates; one pack thread):

- ``solutions/phase3-mlops/data/07-tinyml.bundle``: the library's history, ``main`` and the
  tag ``v0.1.0`` (a release where none of the four open bugs exists yet);
- ``solutions/phase3-mlops/data/07-tinyml-upstream.bundle``: the same history plus two
  upstream commits, one of which renames the lines around every bug (so that each issue's
  natural fix conflicts with it on rebase);
- ``solutions/phase3-mlops/data/07-tinyml-issues.json``: the issue tracker;
- ``hidden/phase3-mlops/suites/07-test-<n>``, ``07-test-<n>-hidden`` and ``07-issue-<n>``:
  the grader's stages for the learner's regression test and patch series (never released).

Run it from the course root: ``python tools/make_07_bundles.py``. Running it twice gives
the same bytes.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "solutions" / "phase3-mlops" / "data"
SUITES = ROOT / "hidden" / "phase3-mlops" / "suites"
GIT = "/usr/bin/git"


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --- the library, as it is at v0.1.0 (no bug) -------------------------------------------------

INIT = dedent('''
    """tinyml: a very small machine-learning toolkit in pure Python."""

    from .metrics import accuracy, precision, recall
    from .neighbors import KNNClassifier
    from .preprocessing import StandardScaler
    from .utils import batches

    __all__ = ["KNNClassifier", "StandardScaler", "accuracy", "batches", "precision", "recall"]
    __version__ = "0.1.0"
''')

UTILS = dedent('''
    """Small helpers shared by the rest of tinyml."""


    def batches(items, size):
        """Split `items` into consecutive lists of `size` elements; the last may be shorter."""
        if size < 1:
            raise ValueError("size must be at least 1")
        items = list(items)
        return [items[i : i + size] for i in range(0, len(items), size)]
''')

METRICS = dedent('''
    """Classification metrics."""


    def accuracy(y_true, y_pred):
        """Share of predictions equal to their label."""
        if len(y_true) != len(y_pred):
            raise ValueError("y_true and y_pred must have the same length")
        if not y_true:
            return 0.0
        return sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)


    def precision(y_true, y_pred, positive=1):
        """Of the items predicted `positive`, the share that really are (0.0 if none is predicted)."""
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == positive and p == positive)
        predicted = sum(1 for p in y_pred if p == positive)
        return tp / predicted if predicted else 0.0


    def recall(y_true, y_pred, positive=1):
        """Of the items that are `positive`, the share predicted so (0.0 if there is none)."""
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == positive and p == positive)
        actual = sum(1 for t in y_true if t == positive)
        return tp / actual if actual else 0.0
''')

PREPROCESSING = dedent('''
    """Feature scaling."""

    import math


    class StandardScaler:
        """Centre each column on its mean and divide it by its standard deviation."""

        def fit(self, rows):
            columns = list(zip(*rows))
            self.mean_ = [sum(column) / len(column) for column in columns]
            self.scale_ = []
            for column, mean in zip(columns, self.mean_):
                variance = sum((x - mean) ** 2 for x in column) / len(column)
                self.scale_.append(math.sqrt(variance) or 1.0)
            return self

        def transform(self, rows):
            return [[(x - m) / s for x, m, s in zip(row, self.mean_, self.scale_)] for row in rows]

        def fit_transform(self, rows):
            return self.fit(rows).transform(rows)
''')

NEIGHBORS = dedent('''
    """k-nearest-neighbour classification."""

    from collections import Counter


    def _distance(a, b):
        return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


    class KNNClassifier:
        """Predict the most common label among the `k` nearest training rows."""

        def __init__(self, k=3):
            if k < 1:
                raise ValueError("k must be at least 1")
            self.k = k

        def fit(self, rows, labels):
            self.X_ = [list(row) for row in rows]
            self.y_ = list(labels)
            return self

        def predict(self, rows):
            return [self._predict_one(row) for row in rows]

        def _predict_one(self, row):
            distances = sorted((_distance(row, x), y) for x, y in zip(self.X_, self.y_))
            votes = Counter(label for _, label in distances[: self.k])
            best = max(votes.values())
            return min(label for label, count in votes.items() if count == best)
''')

PYPROJECT = dedent("""
    [project]
    name = "tinyml"
    version = "0.1.0"
    description = "A very small machine-learning toolkit in pure Python"
    requires-python = ">=3.10"

    [tool.pytest.ini_options]
    testpaths = ["tests"]

    [tool.ruff]
    line-length = 100

    [tool.ruff.lint]
    select = ["E", "F", "W", "B", "UP"]
    ignore = ["B905"]
""")

README = dedent("""
    # tinyml

    A very small machine-learning toolkit in pure Python: batching, metrics, a standard
    scaler and a k-nearest-neighbour classifier. Made for teaching.

    Run the tests with `python -m pytest` and the linter with `ruff check .`.
""")

TEST_UTILS = dedent("""
    import pytest

    from tinyml.utils import batches


    def test_batches_of_two():
        assert batches([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]


    def test_batches_refuses_size_zero():
        with pytest.raises(ValueError):
            batches([1, 2], 0)
""")

TEST_METRICS = dedent("""
    from tinyml.metrics import accuracy, precision, recall


    def test_accuracy():
        assert accuracy([1, 0, 1, 1], [1, 0, 0, 1]) == 0.75


    def test_perfect_precision_and_recall():
        assert precision([1, 0, 1], [1, 0, 1]) == 1.0
        assert recall([1, 0, 1], [1, 0, 1]) == 1.0


    def test_nothing_predicted_positive():
        assert precision([1, 1, 0], [0, 0, 0]) == 0.0
""")

TEST_PREPROCESSING = dedent("""
    from tinyml.preprocessing import StandardScaler


    def test_constant_column_is_left_at_zero():
        scaled = StandardScaler().fit_transform([[5.0], [5.0], [5.0]])
        assert scaled == [[0.0], [0.0], [0.0]]


    def test_columns_are_centred():
        scaled = StandardScaler().fit_transform([[1.0, 10.0], [3.0, 30.0]])
        assert [row[0] for row in scaled] == [-1.0, 1.0]
""")

TEST_NEIGHBORS = dedent("""
    from tinyml.neighbors import KNNClassifier


    def test_two_clusters():
        rows = [[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]]
        labels = ["a", "a", "a", "b", "b", "b"]
        model = KNNClassifier(k=3).fit(rows, labels)
        assert model.predict([[0.5, 0.5], [10.5, 10.5]]) == ["a", "b"]
""")

CONTRIBUTING = dedent("""
    # Contributing to tinyml

    1. Find or open an issue, and say you are working on it.
    2. Write a test that fails because of the bug, then fix the bug.
    3. Keep `python -m pytest` and `ruff check .` green.
    4. One issue per pull request; end the commit message with `Closes #<issue>`.
    5. Rebase on the latest `main` before you ask for review.
""")

WORKFLOW = dedent("""
    name: tests
    on: [push, pull_request]
    jobs:
      test:
        runs-on: ubuntu-24.04
        steps:
          - uses: actions/checkout@v4
          - uses: actions/setup-python@v5
            with:
              python-version: "3.12"
          - run: pip install pytest ruff
          - run: ruff check .
          - run: python -m pytest -q
""")


# --- each open bug: where it lives, how it came in, its fix, and upstream's renaming --------

ISSUES = {
    4: {
        "path": "tinyml/utils.py",
        "good": "    items = list(items)\n    return [items[i : i + size] for i in range(0, len(items), size)]\n",
        "bug": (
            "    items = list(items)\n"
            "    n_batches = len(items) // size\n"
            "    return [items[i * size : (i + 1) * size] for i in range(n_batches)]\n"
        ),
        "fixed": (
            "    items = list(items)\n"
            "    n_batches = -(-len(items) // size)\n"
            "    return [items[i * size : (i + 1) * size] for i in range(n_batches)]\n"
        ),
        "upstream": (
            "    values = list(items)\n"
            "    count = len(values) // size\n"
            "    return [values[k * size : (k + 1) * size] for k in range(count)]\n"
        ),
        "upstream_fixed": (
            "    values = list(items)\n"
            "    count = -(-len(values) // size)\n"
            "    return [values[k * size : (k + 1) * size] for k in range(count)]\n"
        ),
        "commit": "utils: compute the number of batches up front",
    },
    7: {
        "path": "tinyml/metrics.py",
        "good": METRICS[METRICS.index("def precision") : METRICS.index("def recall")],
        "bug": dedent('''
            def _counts(y_true, y_pred, positive):
                """True positives, false positives and false negatives."""
                tp = fp = fn = 0
                for t, p in zip(y_true, y_pred):
                    if p == positive and t == positive:
                        tp += 1
                    elif p == positive:
                        fp += 1
                    elif t == positive:
                        fn += 1
                return tp, fp, fn


            def precision(y_true, y_pred, positive=1):
                """Of the items predicted `positive`, the share that really are (0.0 if none is predicted)."""
                tp, fp, fn = _counts(y_true, y_pred, positive)
                denominator = tp + fn
                return tp / denominator if denominator else 0.0


        '''),
        "commit": "metrics: share the counting between precision and recall",
    },
    9: {
        "path": "tinyml/preprocessing.py",
        "good": (
            "            variance = sum((x - mean) ** 2 for x in column) / len(column)\n"
            "            self.scale_.append(math.sqrt(variance) or 1.0)\n"
        ),
        "bug": (
            "            variance = math.fsum((x - mean) ** 2 for x in column) / len(column)\n"
            "            self.scale_.append(variance if variance > 0 else 1.0)\n"
        ),
        "fixed": (
            "            variance = math.fsum((x - mean) ** 2 for x in column) / len(column)\n"
            "            self.scale_.append(math.sqrt(variance) if variance > 0 else 1.0)\n"
        ),
        "commit": "preprocessing: guard constant columns explicitly",
    },
    12: {
        "path": "tinyml/neighbors.py",
        "good": "        votes = Counter(label for _, label in distances[: self.k])\n",
        "bug": (
            "        nearest = distances[1 : self.k + 1]  # the closest row is the query itself\n"
            "        votes = Counter(label for _, label in nearest)\n"
        ),
        "fixed": (
            "        nearest = distances[: self.k]\n        votes = Counter(label for _, label in nearest)\n"
        ),
        "commit": "neighbors: do not let a training row vote for itself",
    },
}
ISSUES[7]["fixed"] = ISSUES[7]["bug"].replace("denominator = tp + fn", "denominator = tp + fp")
# upstream's "style" commit, around each bug
ISSUES[7]["upstream"] = ISSUES[7]["bug"].replace(
    "    denominator = tp + fn\n    return tp / denominator if denominator else 0.0\n",
    "    total = tp + fn\n    if total == 0:\n        return 0.0\n    return tp / total\n",
)
ISSUES[7]["upstream_fixed"] = ISSUES[7]["upstream"].replace("total = tp + fn", "total = tp + fp")
ISSUES[9]["upstream"] = (
    "            variance = math.fsum((x - mean) ** 2 for x in column) / len(column)\n"
    "            spread = variance if variance > 0 else 1.0\n"
    "            self.scale_.append(spread)\n"
)
ISSUES[9]["upstream_fixed"] = ISSUES[9]["upstream"].replace(
    "spread = variance if", "spread = math.sqrt(variance) if"
)
ISSUES[12]["upstream"] = (
    "        neighbours = distances[1 : self.k + 1]  # the closest row is the query itself\n"
    "        votes = Counter(label for _, label in neighbours)\n"
)
ISSUES[12]["upstream_fixed"] = (
    "        neighbours = distances[: self.k]\n        votes = Counter(label for _, label in neighbours)\n"
)

TRACKER = [
    {
        "number": 1,
        "title": "Add a k-nearest-neighbour classifier",
        "state": "closed",
        "labels": ["enhancement"],
        "body": "Done in v0.1.0.",
    },
    {
        "number": 2,
        "title": "accuracy() of two empty lists raises ZeroDivisionError",
        "state": "closed",
        "labels": ["bug"],
        "body": "Fixed before v0.1.0: it returns 0.0 now.",
    },
    {
        "number": 4,
        "title": "batches() silently drops the last, shorter batch",
        "state": "open",
        "labels": ["bug", "good first issue"],
        "function": "tinyml.utils.batches",
        "body": (
            "Since a recent refactoring, `batches` loses data when the number of items is not a "
            "multiple of the batch size:\n\n"
            "```python\n>>> from tinyml.utils import batches\n>>> batches([1, 2, 3, 4, 5], 2)\n"
            "[[1, 2], [3, 4]]\n```\n\n"
            "The docstring promises that the last batch may be shorter, so the 5 should be in a "
            "third batch of its own. This was fine in v0.1.0."
        ),
        "repro": "import json; from tinyml.utils import batches; print(json.dumps(batches([1, 2, 3, 4, 5], 2)))",
    },
    {
        "number": 5,
        "title": "Document how to run the linter",
        "state": "closed",
        "labels": ["docs"],
        "body": "README says `ruff check .` now.",
    },
    {
        "number": 7,
        "title": "precision() returns the recall",
        "state": "open",
        "labels": ["bug"],
        "function": "tinyml.metrics.precision",
        "body": (
            "`precision` should be TP / (TP + FP), the share of predicted positives that are "
            "right. It gives the same number as `recall`:\n\n"
            "```python\n>>> from tinyml.metrics import precision, recall\n"
            ">>> y_true, y_pred = [1, 1, 1, 0, 0], [1, 0, 0, 1, 0]\n"
            ">>> precision(y_true, y_pred), recall(y_true, y_pred)\n"
            "(0.3333333333333333, 0.3333333333333333)\n```\n\n"
            "One of the two predicted positives is right, so precision should be 0.5. "
            "v0.1.0 got this right."
        ),
        "repro": (
            "import json; from tinyml.metrics import precision; "
            "print(json.dumps(precision([1, 1, 1, 0, 0], [1, 0, 0, 1, 0])))"
        ),
    },
    {
        "number": 9,
        "title": "StandardScaler divides by the variance, not the standard deviation",
        "state": "open",
        "labels": ["bug"],
        "function": "tinyml.preprocessing.StandardScaler",
        "body": (
            "After `fit_transform` a column should have standard deviation 1. With a column of "
            "spread 2 it does not:\n\n"
            "```python\n>>> from tinyml.preprocessing import StandardScaler\n"
            ">>> StandardScaler().fit_transform([[0.0], [4.0]])\n[[-0.5], [0.5]]\n```\n\n"
            "The mean is 2 and the standard deviation 2, so the answer should be "
            "`[[-1.0], [1.0]]`. Constant columns must still scale to 0.0."
        ),
        "repro": (
            "import json; from tinyml.preprocessing import StandardScaler; "
            "print(json.dumps(StandardScaler().fit_transform([[0.0], [4.0]])))"
        ),
    },
    {
        "number": 10,
        "title": "Publish a v0.1.0 release",
        "state": "closed",
        "labels": ["release"],
        "body": "Tagged v0.1.0.",
    },
    {
        "number": 12,
        "title": "KNNClassifier ignores the nearest neighbour",
        "state": "open",
        "labels": ["bug"],
        "function": "tinyml.neighbors.KNNClassifier",
        "body": (
            "With `k=1` a query that sits exactly on a training row should get that row's "
            "label, but it gets the label of the second-closest row:\n\n"
            "```python\n>>> from tinyml.neighbors import KNNClassifier\n"
            ">>> KNNClassifier(k=1).fit([[0.0], [1.0], [5.0]], ['a', 'b', 'c']).predict([[0.0]])\n"
            "['b']\n```\n\n"
            "Someone assumed that the query is always one of the training rows; it is not. "
            "The nearest `k` rows should vote, as in v0.1.0."
        ),
        "repro": (
            "import json; from tinyml.neighbors import KNNClassifier; "
            "print(json.dumps(KNNClassifier(k=1).fit([[0.0], [1.0], [5.0]], ['a', 'b', 'c']).predict([[0.0]])))"
        ),
    },
]
OPEN = [4, 7, 9, 12]


# --- the history -----------------------------------------------------------------------------

BASE_FILES = {
    ".gitignore": "__pycache__/\n*.pyc\n.pytest_cache/\n.ruff_cache/\n",
    "README.md": README,
    "pyproject.toml": PYPROJECT,
    "tinyml/__init__.py": INIT,
    "tinyml/utils.py": UTILS,
    "tinyml/metrics.py": METRICS,
    "tinyml/preprocessing.py": PREPROCESSING,
    "tinyml/neighbors.py": NEIGHBORS,
    "tests/test_utils.py": TEST_UTILS,
    "tests/test_metrics.py": TEST_METRICS,
    "tests/test_preprocessing.py": TEST_PREPROCESSING,
    "tests/test_neighbors.py": TEST_NEIGHBORS,
}


def apply(files: dict[str, str], path: str, old: str, new: str) -> dict[str, str]:
    text = files[path]
    if text.count(old) != 1:
        raise SystemExit(f"{path}: expected one {old!r}")
    return {**files, path: text.replace(old, new)}


def history() -> list[tuple[str, dict[str, str]]]:
    """(commit message, the whole tree) for each commit of main, oldest first."""
    steps = [("Initial version of tinyml: batches, metrics, a scaler and k-NN", dict(BASE_FILES))]

    def step(message: str, change) -> None:
        steps.append((message, change(dict(steps[-1][1]))))

    step("Add a contributing guide", lambda f: {**f, "CONTRIBUTING.md": CONTRIBUTING})
    step(ISSUES[4]["commit"], lambda f: apply(f, "tinyml/utils.py", ISSUES[4]["good"], ISSUES[4]["bug"]))
    step(
        "tests: cover recall when nothing is positive",
        lambda f: {
            **f,
            "tests/test_metrics.py": f["tests/test_metrics.py"]
            + "\n\ndef test_recall_without_positives():\n    assert recall([0, 0], [1, 0]) == 0.0\n",
        },
    )
    step(
        ISSUES[12]["commit"], lambda f: apply(f, "tinyml/neighbors.py", ISSUES[12]["good"], ISSUES[12]["bug"])
    )
    step(
        "README: a usage example",
        lambda f: {
            **f,
            "README.md": f["README.md"] + "\n```python\nfrom tinyml import KNNClassifier\n"
            "model = KNNClassifier(k=3).fit(rows, labels)\npredictions = model.predict(new_rows)\n```\n",
        },
    )
    step(ISSUES[7]["commit"], lambda f: apply(f, "tinyml/metrics.py", ISSUES[7]["good"], ISSUES[7]["bug"]))
    step(
        "Bump the version to 0.2.0",
        lambda f: apply(
            apply(f, "tinyml/__init__.py", '__version__ = "0.1.0"', '__version__ = "0.2.0"'),
            "pyproject.toml",
            'version = "0.1.0"',
            'version = "0.2.0"',
        ),
    )
    step(
        ISSUES[9]["commit"],
        lambda f: apply(f, "tinyml/preprocessing.py", ISSUES[9]["good"], ISSUES[9]["bug"]),
    )
    step(
        "neighbors: validate k in fit, not only in __init__",
        lambda f: apply(
            f,
            "tinyml/neighbors.py",
            "        self.X_ = [list(row) for row in rows]\n",
            '        if self.k < 1:\n            raise ValueError("k must be at least 1")\n'
            "        self.X_ = [list(row) for row in rows]\n",
        ),
    )
    return steps


def upstream_steps(main_tree: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Upstream's two new commits on top of main: a CI workflow, and a renaming across tinyml."""
    ci = {**main_tree, ".github/workflows/tests.yml": WORKFLOW}
    style = dict(ci)
    for number in OPEN:
        style = apply(style, ISSUES[number]["path"], ISSUES[number]["bug"], ISSUES[number]["upstream"])
    message = (
        "style: clearer local names across tinyml\n\n"
        "No change of behaviour: values/count in batches, total in precision,\n"
        "spread in the scaler, neighbours in k-NN."
    )
    return [("ci: run ruff and pytest on every push", ci), (message, style)]


def git(repo: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    done = subprocess.run(
        [GIT, "-c", "pack.threads=1", "-c", "core.autocrlf=false", *args],
        cwd=repo,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def base_env() -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LANG": "C.UTF-8",
    }


AUTHORS = [("Ada Okafor", "ada@tinyml.example"), ("Bo Lindqvist", "bo@tinyml.example"),
           ("Chen Wei", "chen@tinyml.example")]  # fmt: skip


def commit_tree(repo: Path, tree: dict[str, str], message: str, index: int) -> None:
    for path in git(repo, "ls-files").splitlines():
        if path not in tree:
            git(repo, "rm", "-q", path, env=base_env())
    for path, text in tree.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A", env=base_env())
    name, email = AUTHORS[index % len(AUTHORS)]
    date = f"2026-0{1 + index // 4}-{10 + index:02d}T10:{index:02d}:00+00:00"
    env = {
        **base_env(),
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_COMMITTER_DATE": date,
    }
    git(repo, "commit", "-q", "-F", "-", env=env, stdin=message + "\n")


def build_repos(work: Path) -> tuple[Path, Path, dict[str, str]]:
    """The two repositories; and the final trees: 'main', 'upstream'."""
    repo = work / "tinyml"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main", env=base_env())
    steps = history()
    for index, (message, tree) in enumerate(steps):
        commit_tree(repo, tree, message, index)
        if index == 0:
            env = {**base_env(), "GIT_COMMITTER_NAME": "Ada Okafor", "GIT_COMMITTER_EMAIL": "ada@tinyml.example",
                   "GIT_COMMITTER_DATE": "2026-01-10T12:00:00+00:00"}  # fmt: skip
            git(repo, "tag", "-a", "v0.1.0", "-m", "tinyml 0.1.0", env=env)
    upstream = work / "upstream"
    git(work, "clone", "-q", str(repo), str(upstream), env=base_env())
    ups = upstream_steps(steps[-1][1])
    for offset, (message, tree) in enumerate(ups):
        commit_tree(upstream, tree, message, len(steps) + offset)
    return repo, upstream, {"main": steps[-1][1], "upstream": ups[-1][1]}


def bundle(repo: Path, target: Path, *refs: str) -> None:
    git(repo, "bundle", "create", "-q", str(target), *refs, env=base_env())


# --- the hidden suites ------------------------------------------------------------------------

REWRITTEN = {
    # issue -> (path, the whole module rewritten, with the bug) ; the fixed one replaces FIX
    4: (
        "tinyml/utils.py",
        dedent('''
            """Helpers (rewritten)."""
            import itertools


            def batches(items, size):
                if size < 1:
                    raise ValueError("size must be positive")
                iterator = iter(items)
                out = []
                while True:
                    chunk = list(itertools.islice(iterator, size))
                    if len(chunk) < size:  # BUG-LINE
                        break
                    out.append(chunk)
                return out
        '''),
        ("if len(chunk) < size:  # BUG-LINE", "if not chunk:"),
    ),
    7: (
        "tinyml/metrics.py",
        None,  # filled below: the main module with precision rewritten
        None,
    ),
    9: (
        "tinyml/preprocessing.py",
        dedent('''
            """Scaling (rewritten)."""
            import statistics


            class StandardScaler:
                def fit(self, rows):
                    cols = [list(c) for c in zip(*rows)]
                    self.mean_ = [statistics.fmean(c) for c in cols]
                    self.scale_ = [statistics.pvariance(c, m) or 1.0 for c, m in zip(cols, self.mean_)]
                    return self

                def transform(self, rows):
                    out = []
                    for row in rows:
                        out.append([(v - m) / s for v, m, s in zip(row, self.mean_, self.scale_)])
                    return out

                def fit_transform(self, rows):
                    return self.fit(rows).transform(rows)
        '''),
        ("statistics.pvariance(c, m) or 1.0", "statistics.pstdev(c, m) or 1.0"),
    ),
    12: (
        "tinyml/neighbors.py",
        dedent('''
            """k-NN (rewritten)."""
            import math


            class KNNClassifier:
                def __init__(self, k=3):
                    if k < 1:
                        raise ValueError("k must be >= 1")
                    self.k = k

                def fit(self, rows, labels):
                    self.X_, self.y_ = [list(r) for r in rows], list(labels)
                    return self

                def predict(self, rows):
                    result = []
                    for row in rows:
                        order = sorted(range(len(self.X_)), key=lambda i: (math.dist(row, self.X_[i]), self.y_[i]))
                        chosen = order[1 : self.k + 1]
                        counts = {}
                        for i in chosen:
                            counts[self.y_[i]] = counts.get(self.y_[i], 0) + 1
                        top = max(counts.values())
                        result.append(min(label for label in counts if counts[label] == top))
                    return result
        '''),
        ("order[1 : self.k + 1]", "order[: self.k]"),
    ),
}
METRICS_REWRITTEN = METRICS.replace(
    METRICS[METRICS.index("def precision") : METRICS.index("def recall")],
    dedent("""
        def precision(y_true, y_pred, positive=1):
            pairs = list(zip(y_true, y_pred))
            hits = len([1 for t, p in pairs if p == positive and t == positive])
            misses = len([1 for t, p in pairs if p != positive and t == positive])
            return hits / (hits + misses) if hits + misses else 0.0


    """),
)
REWRITTEN[7] = (
    "tinyml/metrics.py",
    METRICS_REWRITTEN,
    ("misses = len([1 for t, p in pairs if p != positive and t == positive])",
     "misses = len([1 for t, p in pairs if p == positive and t != positive])"),
)  # fmt: skip

PROBE_COMMON = dedent('''
    """Import the library in the folder given on the command line, run it on hidden inputs,
    print one JSON line of results. The grader compares it with the same probe over a
    reference-fixed library (same_output_as): a faked exit code gains nothing."""
    import json
    import sys

    sys.path.insert(0, sys.argv[1])
    sys.dont_write_bytecode = True


    def attempt(function, *args):
        try:
            return function(*args)
        except Exception as error:  # a crash is a result too
            return "error: " + type(error).__name__


    def rounded(value):
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value


    import tinyml  # noqa: E402
    from tinyml.metrics import accuracy, precision, recall  # noqa: E402
    from tinyml.neighbors import KNNClassifier  # noqa: E402
    from tinyml.preprocessing import StandardScaler  # noqa: E402
    from tinyml.utils import batches  # noqa: E402

    results = {}
''')

PROBE_CASES = {
    # what every probe also runs: calls whose results no open bug changes
    "common": dedent("""
        results["accuracy"] = attempt(accuracy, [1, 0, 1, 1, 0, 1], [1, 1, 1, 0, 0, 1])
        results["recall"] = attempt(recall, [1, 0, 1, 1, 0, 1], [1, 1, 1, 0, 0, 1])
        results["batches-even"] = attempt(batches, list(range(12)), 4)
        results["batches-zero"] = attempt(batches, [1, 2], 0)
        results["precision-even"] = attempt(precision, [1, 0, 1, 0], [1, 1, 0, 0])
        results["scaler-constant"] = attempt(lambda: StandardScaler().fit_transform([[3.0, 1.0], [3.0, 1.0]]))
        # two tight clusters: the nearest and the second-nearest row share their label
        clusters = [[0.0, 0.0], [0.2, 0.0], [9.0, 9.0], [9.2, 9.0]]
        results["knn-clusters"] = attempt(
            lambda: KNNClassifier(k=1).fit(clusters, ["x", "x", "y", "y"]).predict([[0.1, 0.0], [8.0, 9.5]])
        )
    """),
    4: dedent("""
        for n in (1, 5, 7, 10, 11, 23):
            for size in (1, 3, 4, 6, 50):
                results[f"batches-{n}-{size}"] = attempt(batches, list(range(n)), size)
        results["batches-empty"] = attempt(batches, [], 3)
        results["batches-iter"] = attempt(batches, iter("abcdefg"), 3)
        results["batches-tuple"] = attempt(batches, tuple(range(9)), 2)
    """),
    7: dedent("""
        cases = [
            ([1, 1, 0, 0, 1, 0, 1], [1, 0, 1, 1, 1, 0, 0], 1),
            ([1, 1, 1, 0], [0, 1, 1, 1], 1),
            (["spam", "ham", "spam", "ham"], ["spam", "spam", "spam", "ham"], "spam"),
            ([0, 0, 1, 1, 1], [0, 1, 1, 0, 1], 0),
            ([1, 1, 1], [1, 1, 1], 1),
            ([0, 0, 0], [1, 1, 0], 1),
            ([1, 0, 1, 0, 1, 0, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0], 1),
        ]
        for i, (t, p, positive) in enumerate(cases):
            results[f"precision-{i}"] = attempt(precision, t, p, positive)
            results[f"recall-{i}"] = attempt(recall, t, p, positive)
        results["precision-default"] = attempt(precision, [1, 0, 0, 1], [1, 1, 1, 0])
    """),
    9: dedent("""
        tables = [
            [[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]],
            [[0.0, 7.0, 1.0], [10.0, 7.0, 2.0], [20.0, 7.0, 4.0], [30.0, 7.0, 8.0]],
            [[-3.0], [1.5], [2.5], [100.0]],
            [[0.2, 0.4], [0.4, 0.2]],
        ]
        for i, table in enumerate(tables):
            scaler = StandardScaler()
            results[f"scaled-{i}"] = rounded(attempt(scaler.fit_transform, table))
            results[f"scale-{i}"] = rounded(attempt(lambda s=scaler: list(s.scale_)))
        fitted = StandardScaler().fit([[1.0, 0.0], [5.0, 8.0]])
        results["transform-new"] = rounded(attempt(fitted.transform, [[3.0, 4.0], [9.0, -4.0]]))
    """),
    12: dedent("""
        rows = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0], [5.0, 6.0], [9.0, 0.0]]
        labels = ["a", "a", "b", "b", "c", "c", "a"]
        for k in (1, 2, 3, 5):
            model = KNNClassifier(k=k).fit(rows, labels)
            results[f"knn-train-{k}"] = attempt(model.predict, rows)
            results[f"knn-new-{k}"] = attempt(model.predict, [[0.4, 0.4], [5.4, 5.2], [8.0, 1.0], [3.0, 3.0]])
        results["knn-one-row"] = attempt(lambda: KNNClassifier(k=1).fit([[2.0]], ["only"]).predict([[2.0], [7.0]]))
    """),
}
PROBE_END = "print(json.dumps(results, sort_keys=True))\n"

REVIEW = dedent('''
    """Apply the learner's patch series to a fresh clone of upstream, as a maintainer would.

    Usage: python review.py ISSUE [--quiet]. Clones upstream's bundle into ./repo, applies
    patches/*.patch in order with `git am`, then refuses a series that touches the test
    harness or the tooling's configuration, has no test, or never says `Closes #ISSUE`.
    Exit code 0 only when all is well; the output says what is wrong.
    """
    import gzip
    import re
    import subprocess
    import sys
    from pathlib import Path, PurePosixPath

    ISSUE = int(sys.argv[1])
    QUIET = "--quiet" in sys.argv
    GIT = "/usr/bin/git"
    FORBIDDEN_NAMES = {
        "conftest.py", "pyproject.toml", "ruff.toml", ".ruff.toml", "setup.cfg", "setup.py",
        "pytest.ini", "tox.ini", ".pre-commit-config.yaml", "sitecustomize.py", "usercustomize.py",
        ".gitattributes", ".gitmodules", "noxfile.py",
    }


    def git(*args, cwd="repo"):
        return subprocess.run([GIT, *args], cwd=cwd, capture_output=True, text=True)


    def fail(message):
        print("review: " + message)
        sys.exit(1)


    patches = sorted(Path("patches").glob("*.patch"))
    if not patches:
        fail("no patches/*.patch file to apply")
    # upstream's bundle, stored compressed: the released data file holds the same bytes
    Path("upstream.bundle").write_bytes(gzip.decompress(Path("upstream.bundle.gz").read_bytes()))
    cloned = git("clone", "-q", "upstream.bundle", "repo", cwd=".")
    if cloned.returncode:
        fail("could not clone upstream: " + cloned.stderr[-300:])
    base = git("rev-parse", "HEAD").stdout.strip()
    applied = git("am", "--quiet", *[str(p.resolve()) for p in patches])
    if applied.returncode:
        git("am", "--abort")
        print((applied.stdout + applied.stderr)[-300:].rstrip())
        fail(
            "`git am` could not apply your series to upstream's main: rebase onto upstream first, "
            "then run git format-patch again."
        )
    commits = git("rev-list", "--reverse", f"{base}..HEAD").stdout.split()
    if not commits:
        fail("the series adds no commit")
    changed = git("diff", "--name-only", "--no-renames", base, "HEAD").stdout.split("\\n")
    changed = [c for c in changed if c]
    for name in changed:
        path = PurePosixPath(name)
        if path.name in FORBIDDEN_NAMES or path.suffix == ".pth":
            fail(f"{name}: a pull request for an issue does not change configuration or test plumbing")
        if name.startswith(".github/") or name.startswith("tests/hidden/") or "/hidden/" in name:
            fail(f"{name}: that folder belongs to the maintainers and their CI")
        mode = git("ls-tree", "HEAD", "--", name).stdout.split(" ")[0]
        if mode and mode not in ("100644", "100755"):
            fail(f"{name}: only regular files, please (no symlinks or submodules)")
    if not any(re.fullmatch(r"tests/(.*/)?test_[^/]*\\.py", n) for n in changed):
        fail("the series adds no test: a bug fix comes with a regression test under tests/")
    if not any(n.startswith("tinyml/") and n.endswith(".py") for n in changed):
        fail("the series does not change the library (tinyml/)")
    messages = [git("log", "-1", "--format=%B", c).stdout for c in commits]
    if not any(re.search(rf"\\b(Closes|Fixes|Resolves) #{ISSUE}\\b", m, re.IGNORECASE) for m in messages):
        fail(f"no commit message says `Closes #{ISSUE}`")
    for c, m in zip(commits, messages):
        summary = m.strip().splitlines()[0] if m.strip() else ""
        if not summary or len(summary) > 72:
            fail(f"commit {c[:10]}: its summary line must have 1 to 72 characters")
    if not QUIET:
        print(f"review: {len(commits)} commit(s) apply cleanly and touch {', '.join(changed)}")
''')

LINT = dedent('''
    """ruff over the patched library and tests, with the project's rules but none of its files:
    --isolated ignores any configuration, --ignore-noqa any `# noqa` comment."""
    import subprocess
    import sys

    RULES = ["--select", "E,F,W,B,UP", "--ignore", "B905", "--line-length", "100", "--target-version", "py310"]
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--ignore-noqa", *RULES,
         "--output-format", "concise", "tinyml", "tests"],
        cwd="repo",
    )
    sys.exit(done.returncode)
''')

PYTEST = ["{python}", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "tests"]
PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Grader",
    "GIT_AUTHOR_EMAIL": "grader@course.invalid",
    "GIT_COMMITTER_NAME": "Grader",
    "GIT_COMMITTER_EMAIL": "grader@course.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def library(tree: dict[str, str]) -> dict[str, str]:
    return {p: t for p, t in tree.items() if p.startswith("tinyml/")}


def write_tree(folder: Path, files: dict[str, str | bytes]) -> None:
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def fix(tree: dict[str, str], number: int, upstream: bool = True) -> dict[str, str]:
    issue = ISSUES[number]
    old, new = (issue["upstream"], issue["upstream_fixed"]) if upstream else (issue["bug"], issue["fixed"])
    return apply(tree, issue["path"], old, new)


def dump_yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, width=100)


def build_suites(trees: dict[str, str], upstream_bundle: bytes) -> None:
    upstream = trees["upstream"]
    for number in OPEN:
        path, rewritten_buggy, (bug_text, fix_text) = REWRITTEN[number]
        rewritten_fixed = rewritten_buggy.replace(bug_text, fix_text)
        assert rewritten_fixed != rewritten_buggy
        all_fixed = upstream
        for other in OPEN:
            all_fixed = fix(all_fixed, other)
        # the learner's regression test: fails on upstream, passes once the issue is fixed
        suite = SUITES / f"07-test-{number}"
        write_tree(suite / "trees" / "buggy", library(upstream))
        write_tree(suite / "trees" / "fixed", library(fix(upstream, number)))
        stages = {
            "takes": ["tests/test_*.py"],
            "stages": [
                {"name": "fails on the unfixed library", "tree": "buggy", "run": [PYTEST], "env": PYTEST_ENV,
                 "expect": "fail",
                 "says": f"a regression test must fail while issue #{number} is not fixed: make it call the "
                         "function of the issue on an input that shows the bug, and assert the right answer"},
                {"name": "passes on the fixed library", "tree": "fixed", "run": [PYTEST], "env": PYTEST_ENV,
                 "expect": "pass", "show_output": True,
                 "says": f"once issue #{number} is fixed your test must pass: does it expect the correct "
                         "values, and does it only use tinyml's public functions and pytest?"},
            ],
        }  # fmt: skip
        (suite / "suite.yaml").write_text(dump_yaml(stages))
        # the hidden half: other texts of the same behaviour, and the other bugs fixed too
        suite = SUITES / f"07-test-{number}-hidden"
        write_tree(suite / "trees" / "rewritten-buggy", {**library(upstream), path: rewritten_buggy})
        write_tree(suite / "trees" / "rewritten-fixed", {**library(upstream), path: rewritten_fixed})
        write_tree(suite / "trees" / "all-fixed", library(all_fixed))
        stages = {
            "takes": ["tests/test_*.py"],
            "stages": [
                {"name": "fails on a rewritten library with the same bug", "tree": "rewritten-buggy",
                 "run": [PYTEST], "env": PYTEST_ENV, "expect": "fail",
                 "says": "your test does not catch the bug when the code is written differently: test "
                         "the behaviour (inputs and outputs), not the source text"},
                {"name": "passes on a rewritten, fixed library", "tree": "rewritten-fixed",
                 "run": [PYTEST], "env": PYTEST_ENV, "expect": "pass",
                 "says": "your test fails on a correct library written differently: test the behaviour "
                         "that the issue describes, not how the code is written"},
                {"name": "passes with every open issue fixed", "tree": "all-fixed",
                 "run": [PYTEST], "env": PYTEST_ENV, "expect": "pass",
                 "says": "your test fails once all open issues are fixed: it should test only the "
                         "behaviour of its own issue"},
            ],
        }  # fmt: skip
        (suite / "suite.yaml").write_text(dump_yaml(stages))
        # the patch series: git am on upstream, review, ruff, and the probe against a trusted run
        suite = SUITES / f"07-issue-{number}"
        probe = PROBE_COMMON + PROBE_CASES["common"] + PROBE_CASES[number] + PROBE_END
        write_tree(
            suite / "trees" / "upstream",
            {
                "upstream.bundle.gz": gzip.compress(upstream_bundle, mtime=0),
                "review.py": REVIEW,
                "lint.py": LINT,
                "probe.py": probe,
            },
        )
        write_tree(suite / "trees" / "reference", {"probe.py": probe, **{
            "fixed/" + p: t for p, t in library(fix(upstream, number)).items()}})  # fmt: skip
        review = ["{python}", "review.py", str(number)]
        stages = {
            "takes": ["patches/*.patch"],
            "stages": [
                {"name": "the series applies to upstream and passes review", "tree": "upstream",
                 "run": [review, ["{python}", "lint.py"]], "env": GIT_ENV, "expect": "pass",
                 "show_output": True,
                 "says": "a maintainer applies your patches with `git am` to the newest upstream main, "
                         "reads which files they touch and the commit messages, and runs ruff"},
                {"name": "trusted reference", "tree": "reference", "learner_files": False,
                 "run": [["{python}", "probe.py", "fixed"]], "expect": "pass",
                 "says": "the course's reference fix runs the hidden tests"},
                {"name": "hidden tests of the patched library", "tree": "upstream",
                 "run": [[*review, "--quiet"], ["{python}", "probe.py", "repo"]], "env": GIT_ENV,
                 "expect": "pass", "same_output_as": "trusted reference",
                 "says": f"with your patches applied, tinyml does not behave as it should on the "
                         f"grader's hidden inputs for issue #{number}, or it broke something else"},
            ],
        }  # fmt: skip
        (suite / "suite.yaml").write_text(dump_yaml(stages))


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        repo, upstream, trees = build_repos(work)
        bundle(repo, DATA / "07-tinyml.bundle", "HEAD", "main", "v0.1.0")
        bundle(upstream, DATA / "07-tinyml-upstream.bundle", "HEAD", "main", "v0.1.0")
        print(git(upstream, "log", "--oneline", "main", env=base_env()))
        for old in SUITES.glob("07-*"):
            shutil.rmtree(old)
        build_suites(trees, (DATA / "07-tinyml-upstream.bundle").read_bytes())
    (DATA / "07-tinyml-issues.json").write_text(json.dumps(TRACKER, indent=2) + "\n")
    print("wrote", *sorted(p.name for p in DATA.glob("07-*")), *sorted(p.name for p in SUITES.glob("07-*")))


if __name__ == "__main__":
    sys.exit(main())
