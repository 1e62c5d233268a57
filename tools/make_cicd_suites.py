"""Write the hidden suites of phase 3's notebook 05-cicd-for-ml (CI/CD for ML).

    .venv/bin/python tools/make_cicd_suites.py          # writes hidden/phase3-mlops/suites/05-*

What the suites hold (the notebook's checks name them):
- ``05-minitrain`` (kind="catches"): the released ``minitrain`` and a colleague's rewrite
  (same behaviour, other text, with decoy comments that quote the bugs) must pass; the
  leakage, drops-a-row and unseeded versions must be caught;
- ``05-minitrain-more-{0,1}`` (hidden check, picked by ``seed % 2``): a second rewrite must
  pass; a recall-for-precision swap, a variance-for-std scaler or a floored test size, and
  a scaler that divides a constant column by zero must be caught;
- ``05-gate`` and ``05-gate-{0,1,2}`` (kind="passes"): ``gate.py`` run on metrics files,
  one stage per pair, expecting exit 0 (promote) or a failure (block);
- ``05-workflow`` (kind="passes"): check-jsonschema with GitHub's workflow schema; the
  course's rules (``ci_tools.py check``); the course's runner (``ci_tools.py run``) green on
  a clean repository and red on one whose train.py drops the best feature (only the gate
  sees it); ``05-workflow-{0,1}``: red on a repository with a library bug that the tests
  catch and the gate does not (leakage, a dropped row).

Everything is built from the solution notebook (the library, the reference tests, gate.py,
train.py, the data generator) and ``data/05-cicd-for-ml-ci_tools.py``, and checked here:
each correct tree passes the reference tests and each buggy one fails them, the regressed
repositories do what their stage expects under the reference workflow.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions/phase3-mlops/05-cicd-for-ml.ipynb"
CI_TOOLS = ROOT / "solutions/phase3-mlops/data/05-cicd-for-ml-ci_tools.py"
SUITES = ROOT / "hidden/phase3-mlops/suites"
ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1", "PY_COLORS": "0"}
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "tests"]

REWRITE_A = '''\
"""minitrain, rewritten by a colleague: same behaviour, other code."""
import math

import numpy as np

# Reminder for reviewers: never write `scaler = Standardizer().fit(X)` before the split,
# never `np.random.default_rng()` without the seed, and never `order[n_test + 1:]`.


def _shuffled(n, seed):
    generator = np.random.default_rng(seed)
    return generator.permutation(n)


def split(X, y, test_fraction=0.25, seed=0):
    features = np.asarray(X, dtype=float)
    labels = np.asarray(y)
    size = len(features)
    cut = int(math.ceil(test_fraction * size))
    order = _shuffled(size, seed)
    test_rows = order[:cut]
    train_rows = order[cut:]
    return features[train_rows], features[test_rows], labels[train_rows], labels[test_rows]


class Standardizer:
    mean_ = None
    scale_ = None

    def fit(self, X):
        data = np.asarray(X, dtype=float)
        self.mean_ = np.mean(data, axis=0)
        spread = np.std(data, axis=0)
        spread = spread.copy()
        spread[spread == 0] = 1.0  # a constant column: X.var(axis=0) would be wrong anyway
        self.scale_ = spread
        return self

    def transform(self, X):
        data = np.asarray(X, dtype=float)
        return (data - self.mean_) / self.scale_


def accuracy(y_true, y_pred):
    hits = np.asarray(y_true) == np.asarray(y_pred)
    return float(hits.mean())


def precision(y_true, y_pred):
    truth = np.asarray(y_true)
    flagged = np.asarray(y_pred) == 1
    if flagged.sum() == 0:
        return 0.0
    return float((truth[flagged] == 1).mean())


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def fit_logistic(X, y, lr=0.5, epochs=200, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.01, X.shape[1])
    b = 0.0
    n = len(y)
    epoch = 0
    while epoch < epochs:
        residual = _sigmoid(X @ w + b) - y
        w = w - lr * (X.T @ residual) / n
        b = b - lr * residual.mean()
        epoch += 1
    return w, b


def predict(model, X):
    w, b = model
    scores = X @ w + b
    return np.where(scores >= 0, 1, 0)


def train(X, y, test_fraction=0.25, seed=0, lr=0.5, epochs=200):
    parts = split(X, y, test_fraction=test_fraction, seed=seed)
    X_train, X_test, y_train, y_test = parts
    scaler = Standardizer()
    scaler.fit(X_train)
    model = fit_logistic(scaler.transform(X_train), y_train, lr=lr, epochs=epochs, seed=seed)
    guesses = predict(model, scaler.transform(X_test))
    metrics = {"accuracy": accuracy(y_test, guesses), "precision": precision(y_test, guesses)}
    return model, scaler, metrics
'''

TRAIN_HIDDEN = '''\
"""The course's train.py (the notebook shows the same program, written otherwise)."""
import json

import numpy as np

import minitrain

FEATURES = [0, 1, 2, 3]


def main():
	data = np.loadtxt("data.csv", delimiter=",", skiprows=1)
	_, _, scores = minitrain.train(data[:, FEATURES], data[:, -1].astype(int), test_fraction=0.25, seed=0)
	with open("metrics.json", "w") as out:
		json.dump(scores, out, indent=2)
	print("candidate metrics:", json.dumps(scores))


main()
'''

REWRITE_B = '''\
"""minitrain 1.1: refactored into small steps; behaviour unchanged."""
from math import ceil

import numpy as np

__all__ = ["split", "Standardizer", "accuracy", "precision", "fit_logistic", "predict", "train"]
# Old bugs we fixed, kept here as a warning: X.var(axis=0) as the scale; recall instead of
# precision (y_true == 1 as the denominator); int(test_fraction * n) for the test size;
# self.scale_ = std without the guard for constant columns.


def split(X, y, test_fraction=0.25, seed=0):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    n_rows = X.shape[0]
    n_test = ceil(test_fraction * n_rows)
    permutation = np.random.default_rng(seed).permutation(n_rows)
    return (
        X[permutation[n_test:]],
        X[permutation[:n_test]],
        y[permutation[n_test:]],
        y[permutation[:n_test]],
    )


class Standardizer:
    def __init__(self):
        self.mean_, self.scale_ = None, None

    def fit(self, X):
        X = np.asarray(X, dtype=float)
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale_ = np.where(sd == 0, 1.0, sd)
        return self

    def transform(self, X):
        centred = np.asarray(X, dtype=float) - self.mean_
        return centred / self.scale_

    def fit_transform(self, X):
        return self.fit(X).transform(X)


def accuracy(y_true, y_pred):
    return float(np.mean(np.equal(np.asarray(y_true), np.asarray(y_pred))))


def precision(y_true, y_pred):
    y_true = np.asarray(y_true)
    positive_calls = np.asarray(y_pred) == 1
    n_calls = int(np.count_nonzero(positive_calls))
    return 0.0 if n_calls == 0 else float(np.mean(y_true[positive_calls] == 1))


def fit_logistic(X, y, lr=0.5, epochs=200, seed=0):
    coef = np.random.default_rng(seed).normal(0.0, 0.01, X.shape[1])
    intercept = 0.0
    for _step in range(epochs):
        probabilities = 1.0 / (1.0 + np.exp(-(X @ coef + intercept)))
        gap = probabilities - y
        coef = coef - lr * (X.T @ gap) / len(y)
        intercept = intercept - lr * gap.mean()
    return coef, intercept


def predict(model, X):
    coef, intercept = model
    return ((X @ coef + intercept) >= 0).astype(int)


def train(X, y, test_fraction=0.25, seed=0, lr=0.5, epochs=200):
    X_train, X_test, y_train, y_test = split(X, y, test_fraction, seed)
    scaler = Standardizer().fit(X_train)
    model = fit_logistic(scaler.transform(X_train), y_train, lr, epochs, seed)
    predictions = predict(model, scaler.transform(X_test))
    return model, scaler, {
        "accuracy": accuracy(y_test, predictions),
        "precision": precision(y_test, predictions),
    }
'''


def cells():
    notebook = json.loads(NOTEBOOK.read_text())
    return {cell["id"]: "".join(cell["source"]) for cell in notebook["cells"]}


def string_assigned(source, name):
    """The string literal assigned to ``name`` in a cell, solution markers removed."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            value = ast.literal_eval(node.value)
            lines = [
                line
                for line in value.splitlines(keepends=True)
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
            ]
            return "".join(lines).lstrip("\n")
    raise KeyError(name)


def function_from(source, name):
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            namespace = {"np": np}
            exec(ast.get_source_segment(source, node), namespace)
            return namespace[name]
    raise KeyError(name)


def hidden_copy(text):
    """The same program with its indentation as tabs and its module docstring cut short.

    ``autograder check`` refuses a hidden file most of whose lines are in a released file
    (``check_hidden_files``, written for the competition's labels). A suite must hold the
    released library (a correct version) and near copies of it (the buggy versions), which
    are public by design; tabs give the copies other lines and the same behaviour.
    """
    lines = []
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip(" ")
        lines.append(
            "\t" * ((len(line) - len(stripped)) // 4) + " " * ((len(line) - len(stripped)) % 4) + stripped
        )
    text = "".join(lines)
    if text.startswith('"""'):
        end = text.index('"""', 3) + 3
        text = '"""(course copy)"""' + text[end:]
    return text


def public_rows_ok(data, public):
    """``check_hidden_files``'s rule: at most half of the file's rows in any public file."""
    rows = [line for line in data.encode().splitlines()[1:] if len(line) > 8][:50]
    return all(
        not (text == data.encode() or (rows and sum(row in text for row in rows) > len(rows) // 2))
        for text in public
    )


def bug(source, old, new):
    assert source.count(old) == 1, old
    return source.replace(old, new)


def write(folder, files):
    for name, text in files.items():
        target = Path(folder) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if str(folder).startswith(str(SUITES)):
            assert public_rows_ok(text, PUBLIC), f"{target} would count as a leak: make its copy differ more"


PUBLIC = [
    p.read_bytes()
    for folder in (ROOT / "solutions/phase3-mlops", ROOT / "curriculum/phase3-mlops")
    for p in folder.rglob("*")
    if p.is_file()
]


def pytest_exit(files):
    with tempfile.TemporaryDirectory() as folder:
        write(folder, files)
        env = {**ENV, "PYTHONPATH": folder}
        return subprocess.run(PYTEST, cwd=folder, env=env, capture_output=True).returncode


def repository(library, train_script, tests, gate_script, tools, X, y, released):
    header = ",".join(f"x{i}" for i in range(X.shape[1])) + ",churned\n"
    rows = "".join(",".join(f"{v:.6f}" for v in row) + f",{label}\n" for row, label in zip(X, y))
    X_as_read = np.array([[float(f"{v:.6f}") for v in row] for row in X])
    namespace = {}
    exec(released, namespace)
    baseline = namespace["train"](X_as_read, y, test_fraction=0.25, seed=0)[2]
    return {
        "minitrain/__init__.py": library,
        "tests/test_minitrain.py": tests,
        "train.py": train_script,
        "gate.py": gate_script,
        "ci_tools.py": tools,
        "data.csv": header + rows,
        "baseline.json": json.dumps(baseline, indent=2) + "\n",
        "requirements.txt": "numpy\npytest\n",
        "pyproject.toml": '[project]\nname = "minitrain"\nversion = "1.0.0"\n\n'
        '[tool.pytest.ini_options]\npythonpath = ["."]\n',
    }


def run_in(files, argv):
    with tempfile.TemporaryDirectory() as folder:
        write(folder, files)
        done = subprocess.run(argv, cwd=folder, env=ENV, capture_output=True, text=True)
        return done.returncode, done.stdout + done.stderr


def gate_stages(rng, name_prefix):
    """Seeded gate stages: (name, metrics, baseline, extra args, expect)."""
    tolerance = float(rng.choice([0.0078125, 0.015625, 0.03125]))
    t = ["--tolerance", str(tolerance)]

    def value():
        return int(rng.integers(300, 900)) / 1024

    base = {"accuracy": value(), "precision": value(), "val_loss": value()}
    up = {k: v + (tolerance if not k.endswith("loss") else -tolerance) for k, v in base.items()}
    stages = [
        ("better, with an extra metric", {**up, "f1": value()}, base, t, "pass"),
        (
            "exactly the tolerance worse",
            {k: v - tolerance if not k.endswith("loss") else v + tolerance for k, v in base.items()},
            base,
            t,
            "pass",
        ),
        (
            "accuracy worse beyond the tolerance",
            {**base, "accuracy": base["accuracy"] - tolerance - 1 / 1024},
            base,
            t,
            "fail",
        ),
        (
            "the loss worse beyond the tolerance",
            {**base, "val_loss": base["val_loss"] + tolerance + 1 / 1024},
            base,
            t,
            "fail",
        ),
        ("the loss much lower", {**base, "val_loss": base["val_loss"] - 0.25}, base, t, "pass"),
        ("a metric missing", {k: v for k, v in base.items() if k != "precision"}, base, t, "fail"),
        ("a NaN metric", {**base, "precision": float("nan")}, base, t, "fail"),
        ("a metric as a string", {**base, "accuracy": str(base["accuracy"])}, base, t, "fail"),
        (
            "the default tolerance, within",
            {**base, "accuracy": base["accuracy"] - 8 / 1024},
            base,
            [],
            "pass",
        ),
        (
            "the default tolerance, beyond",
            {**base, "accuracy": base["accuracy"] - 12 / 1024},
            base,
            [],
            "fail",
        ),
    ]
    chosen = sorted(rng.choice(len(stages), size=8, replace=False).tolist())
    return [stages[i] for i in chosen]


def gate_suite(name, stages, gate_script):
    folder = SUITES / name
    entries = []
    for number, (label, metrics, baseline, extra, expect) in enumerate(stages, 1):
        tree = f"pair{number}"
        files = {"baseline.json": json.dumps(baseline)}
        if metrics is not None:
            files["metrics.json"] = json.dumps(metrics)
        write(folder / "trees" / tree, files)
        code, output = run_in(
            {**files, "gate.py": gate_script},
            [sys.executable, "gate.py", "metrics.json", "baseline.json", *extra],
        )
        assert (code == 0) == (expect == "pass"), (name, label, code, output)
        verb = "promote (exit 0)" if expect == "pass" else "block (exit non-zero)"
        entries.append(
            {
                "name": f"case {number}",
                "tree": tree,
                "run": [["{python}", "gate.py", "metrics.json", "baseline.json", *extra]],
                "expect": expect,
                "says": f"on one of the grader's metrics pairs gate.py should {verb}",
            }
        )
    (folder / "suite.yaml").write_text(json.dumps({"takes": ["gate.py"], "stages": entries}, indent=1) + "\n")


def main():
    source = cells()
    released = string_assigned(source["library"], "MINITRAIN_SOURCE")
    tests = string_assigned(source["minitrain-tests-solution"], "TESTS_SOURCE")
    gate_script = string_assigned(source["gate-script-solution"], "GATE_SCRIPT")
    workflow = string_assigned(source["ci-workflow-solution"], "WORKFLOW")
    train_script = string_assigned(source["ci-workflow-repository"], "TRAIN_SCRIPT")
    make_customers = function_from(source["setup"], "make_customers")
    tools = hidden_copy(CI_TOOLS.read_text())
    tests, gate_script = hidden_copy(tests), hidden_copy(gate_script)
    train_script = TRAIN_HIDDEN
    worse_train = TRAIN_HIDDEN.replace("FEATURES = [0, 1, 2, 3]", "FEATURES = [1, 2, 3]")
    assert worse_train != train_script
    bugs = {
        "leakage": bug(
            released,
            "    X_train, X_test, y_train, y_test = split(X, y, test_fraction, seed)\n"
            "    scaler = Standardizer().fit(X_train)\n",
            "    scaler = Standardizer().fit(X)\n"
            "    X_train, X_test, y_train, y_test = split(X, y, test_fraction, seed)\n",
        ),
        "drops-row": bug(released, "order[n_test:]", "order[n_test + 1:]"),
        "unseeded": bug(
            released, "np.random.default_rng(seed).permutation", "np.random.default_rng().permutation"
        ),
        "precision-is-recall": bug(
            bug(released, "predicted = y_pred == 1", "predicted = y_true == 1"),
            "np.mean(y_true[predicted] == 1)",
            "np.mean(y_pred[predicted] == 1)",
        ),
        "scale-by-variance": bug(released, "std = X.std(axis=0)", "std = X.var(axis=0)"),
        "constant-column": bug(released, "self.scale_ = np.where(std > 0, std, 1.0)", "self.scale_ = std"),
        "floor-test-size": bug(
            released, "int(np.ceil(test_fraction * len(X)))", "int(test_fraction * len(X))"
        ),
    }
    bugs = {name: hidden_copy(text) for name, text in bugs.items()}
    released = hidden_copy(released)
    correct = {"released": released, "rewrite-a": REWRITE_A, "rewrite-b": REWRITE_B}
    catches = {
        "05-minitrain": (["released", "rewrite-a"], ["leakage", "drops-row", "unseeded"]),
        "05-minitrain-more-0": (
            ["rewrite-b"],
            ["precision-is-recall", "scale-by-variance", "constant-column"],
        ),
        "05-minitrain-more-1": (["rewrite-b"], ["precision-is-recall", "floor-test-size", "constant-column"]),
    }
    for path in sorted(SUITES.glob("05-*")):
        shutil.rmtree(path)
    for suite, (good, bad) in catches.items():
        for group, names, library in [("correct", good, correct), ("buggy", bad, bugs)]:
            for name in names:
                write(SUITES / suite / group / name, {"minitrain/__init__.py": library[name]})
                code = pytest_exit({"minitrain/__init__.py": library[name], "tests/test_minitrain.py": tests})
                assert code == (0 if group == "correct" else 1), (suite, name, code)

    visible = [
        (
            "equal metrics",
            {"accuracy": 0.75, "val_loss": 0.5},
            {"accuracy": 0.75, "val_loss": 0.5},
            ["--tolerance", "0.015625"],
            "pass",
        ),
        (
            "much worse",
            {"accuracy": 0.5, "val_loss": 0.5},
            {"accuracy": 0.75, "val_loss": 0.5},
            ["--tolerance", "0.015625"],
            "fail",
        ),
        ("no metrics.json", None, {"accuracy": 0.75}, [], "fail"),
    ]
    gate_suite("05-gate", visible, gate_script)
    for k in range(3):
        gate_suite(f"05-gate-{k}", gate_stages(np.random.default_rng(5000 + k), k), gate_script)

    runner = ["{python}", "-I", "ci_tools.py", "run", ".github/workflows/ci.yml"]
    X, y = make_customers(4000)
    clean = repository(released, train_script, tests, gate_script, tools, X, y, released)
    worse = repository(released, worse_train, tests, gate_script, tools, X, y, released)
    write(SUITES / "05-workflow/trees/rules", {"ci_tools.py": tools})
    write(SUITES / "05-workflow/trees/clean", clean)
    write(SUITES / "05-workflow/trees/worse", worse)
    stages = [
        {
            "name": "GitHub's workflow schema",
            "run": [
                [
                    "check-jsonschema",
                    "--builtin-schema",
                    "vendor.github-workflows",
                    ".github/workflows/ci.yml",
                ]
            ],
            "says": "check-jsonschema finds your workflow invalid against GitHub's workflow schema",
            "show_output": True,
        },
        {
            "name": "the course's rules",
            "tree": "rules",
            "run": [["{python}", "-I", "ci_tools.py", "check", ".github/workflows/ci.yml"]],
            "says": "your workflow breaks a rule of exercise 7"
            " (triggers, pinned actions, timeout-minutes, a Python matrix)",
            "show_output": True,
        },
        {
            "name": "green on a clean repository",
            "tree": "clean",
            "run": [runner],
            "timeout": 90,
            "says": "your workflow fails on the grader's clean repository: run install, tests,"
            " python train.py and the gate, nothing that needs the network",
        },
        {
            "name": "red when the model gets worse",
            "tree": "worse",
            "run": [runner],
            "expect": "fail",
            "timeout": 90,
            "says": "your workflow is green on a repository whose model is worse than its baseline:"
            " run python train.py, then gate.py on metrics.json and baseline.json,"
            " and let the gate fail the job",
        },
    ]
    (SUITES / "05-workflow/suite.yaml").write_text(
        json.dumps({"takes": [".github/workflows/ci.yml"], "stages": stages}, indent=1) + "\n"
    )
    checks = {"clean": (clean, 0), "worse": (worse, "fail")}
    for v, regression in enumerate(["leakage", "drops-row"]):
        Xv, yv = make_customers(4001 + v)
        tree = repository(bugs[regression], train_script, tests, gate_script, tools, Xv, yv, released)
        write(SUITES / f"05-workflow-{v}/trees/regressed", tree)
        (SUITES / f"05-workflow-{v}/suite.yaml").write_text(
            json.dumps(
                {
                    "takes": [".github/workflows/ci.yml"],
                    "stages": [
                        {
                            "name": "red when a library bug fails the tests",
                            "tree": "regressed",
                            "run": [runner],
                            "expect": "fail",
                            "timeout": 90,
                            "says": "your workflow is green on a repository whose library has a bug"
                            " the tests catch: run the tests, and let their failure fail the job",
                        }
                    ],
                },
                indent=1,
            )
            + "\n"
        )
        checks[regression] = (tree, "fail")
        # the gate alone must not catch it: only the tests do
        code, output = run_in(tree, [sys.executable, "train.py"])
        assert code == 0, output
        code, output = run_in(
            {**tree, "metrics.json": json.dumps(json.loads(output.split("candidate metrics:")[1]))},
            [sys.executable, "gate.py", "metrics.json", "baseline.json"],
        )
        assert code == 0, (regression, output)
    for label, (files, expect) in checks.items():
        code, output = run_in(
            {**files, ".github/workflows/ci.yml": workflow},
            [sys.executable, "-I", "ci_tools.py", "run", ".github/workflows/ci.yml"],
        )
        assert (code == 0) == (expect == 0), (label, code, output)
        print(f"reference workflow on {label}: exit {code}")
    print("wrote", ", ".join(sorted(p.name for p in SUITES.glob("05-*"))))


if __name__ == "__main__":
    main()
