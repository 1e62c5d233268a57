"""Leaderboard tiers of the phase-2 competition, set from the spread of honest solutions.

The competition notebook (``solutions/phase2-ml-dl/04-competition.ipynb``) gives points for
three tiers of test ROC AUC against the hidden labels: *baseline*, *good* and *strong*.
The notebook reads one of three data variants (``seed % 3``; tools/make_competition_data.py),
and one threshold per tier serves them all, so everything below runs on every variant.
One test AUC is a noisy number (its standard error is about 0.004 on the 20000 test rows,
and was 0.011 when the test set had 2500), so a threshold just under the reference's own
score grades noise: honest work of the same kind misses it by chance. This tool sets every
tier from what honest work reaches instead:

1. It fits several genuinely different honest solutions (logistic regression, k-NN,
   random forest, scikit-learn's gradient boosting, ``HistGradientBoostingClassifier``,
   with and without the engineered features of exercise 5, and blends), each under a few
   hyper-parameter settings a learner could pick by cross-validation and under the seeds
   the grader uses that read each variant (the notebook's default, the ``autograder check``
   seeds 1000 and 1001, and seeds drawn as ``autograder grade`` draws them, topped up to
   three per variant), and scores each on that variant's hidden test labels with the
   grader's own metric (``autograder.compare.metric_value``).
2. Each solution has a *tier*: the highest tier its kind of work is meant to reach, as the
   notebook's tier table says (a sound model on the raw columns: baseline; a tuned tree
   ensemble: good; the engineered features with a tuned tree ensemble, alone or blended
   with a second model: strong). A tier's honest lower bound is the lowest score of every
   run at that tier or above, on any variant.
3. The standard error of that AUC is the larger of two estimators: Hanley and McNeil's
   (1982) closed form, and a stratified bootstrap of the test rows (2000 resamples, fixed
   seed). The recommended threshold is ``lower bound - 2 SE``, rounded *down* to three
   decimals, so an honest solution on any variant of that kind fails the tier by noise with a probability
   of about 2 % at worst.
4. A tier must still mean something: a constant prediction scores 0.5 and a random one
   0.5 +- SE0 (the standard error of the AUC under the null, Hanley-McNeil at 0.5), so the
   baseline tier must lie above ``0.5 + 4 SE0``; and it must lie above the best one-column
   rule (the worked example's kind of score) plus two standard errors, on every variant.
5. The margin is fair but wide: tiers only separate kinds of work whose scores differ by
   more than about two standard errors. That is why the test set has 20000 rows
   (tools/make_competition_data.py): a plain logistic regression on the raw columns
   then stays well below the strong tier, as the tier table says it should.

Usage, from the repository root::

    .venv/bin/python tools/competition_tiers.py            # measure and print the table
    .venv/bin/python tools/competition_tiers.py --write    # ... and record tools/competition_tiers.json

``tests/test_competition_tiers.py`` reads the record and fails when a threshold in the
notebook lies above what it recommends, or when the data the record was measured on
changed. Re-run with ``--write`` after regenerating the data (tools/make_competition_data.py)
or adding an honest approach, then copy the printed thresholds into the notebook's
hidden tests and run ``autograder release phase2-ml-dl``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the grader's own code
    sys.path.insert(0, str(ROOT))

from autograder.compare import metric_value  # noqa: E402
from autograder.grading.grade import draw_seeds  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from make_competition_data import VARIANTS  # noqa: E402

DATA_DIR = ROOT / "solutions" / "phase2-ml-dl" / "data"
HIDDEN_DIR = ROOT / "hidden" / "phase2-ml-dl"
LABELS = HIDDEN_DIR / "competition_test_labels.csv"
"""Variant 0's hidden labels: the default seed's, the leaderboard's."""
NOTEBOOK = ROOT / "solutions" / "phase2-ml-dl" / "04-competition.ipynb"
RECORD = ROOT / "tools" / "competition_tiers.json"

TIERS = ("baseline", "good", "strong")
"""In increasing order; the check of tier ``t`` in the notebook is named ``comp.auc-<t>``."""
MARGIN_SE = 2.0
"""A threshold lies this many standard errors below the honest lower bound of its tier."""
RANDOM_SE = 4.0
"""The baseline tier lies this many null standard errors above 0.5: random work fails it."""
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 12
SEEDS = (0, 1000, 1001, *draw_seeds(3, random.Random(2024)))
"""The default seed, the seeds ``autograder check`` runs (default + 1000 + i) and three
seeds drawn the way ``autograder grade`` draws them."""
SEEDS_PER_VARIANT = 3


def variant_of(seed: int) -> int:
    """The data variant the notebook reads under ``seed`` (its setup cell: ``seed % 3``)."""
    return seed % len(VARIANTS)


def seeds_for(variant: int) -> list[int]:
    """The seeds of ``SEEDS`` that read ``variant``, topped up with ``variant + 3 j`` to three."""
    chosen = [s for s in SEEDS if variant_of(s) == variant]
    extra = variant + len(VARIANTS)
    while len(chosen) < SEEDS_PER_VARIANT:
        if extra not in chosen:
            chosen.append(extra)
        extra += len(VARIANTS)
    return chosen


CATEGORICAL = ["plan", "contract", "payment_method", "region"]
NUMERIC = [
    "tenure_months",
    "monthly_charges",
    "profiles",
    "support_tickets_90d",
    "weekly_hours",
    "days_since_last_login",
]
FEATURES = [*NUMERIC, "hours_missing", "log_cost_per_hour", "log_price_ratio"]


def add_features(df: pd.DataFrame) -> pd.DataFrame:
    """Exercise 5's engineered columns, as the notebook defines them."""
    out = df.copy()
    out["hours_missing"] = out["weekly_hours"].isna().astype(float)
    out["log_cost_per_hour"] = np.log(out["monthly_charges"] / (out["weekly_hours"] + 1.0))
    plan_median = out.groupby("plan")["monthly_charges"].transform("median")
    out["log_price_ratio"] = np.log(out["monthly_charges"] / plan_median)
    return out


@dataclass(frozen=True)
class Data:
    """One variant's training rows and test rows in id order, with their labels."""

    train: pd.DataFrame
    test: pd.DataFrame
    y: np.ndarray
    labels: np.ndarray
    variant: int = 0

    @property
    def counts(self) -> tuple[int, int]:
        """(positives, negatives) among the test labels: what every standard error needs."""
        positives = int((self.labels == 1).sum())
        return positives, len(self.labels) - positives


def load_data(variant: int = 0) -> Data:
    """Read one variant's committed data and its hidden labels (instructor side only)."""
    files = VARIANTS[variant]
    train = pd.read_csv(DATA_DIR / files.train_file)
    test = pd.read_csv(DATA_DIR / files.test_file).sort_values("id").reset_index(drop=True)
    labels_path = HIDDEN_DIR / files.labels_file
    labels = pd.read_csv(labels_path).sort_values("id")
    if not np.array_equal(labels["id"].to_numpy(), test["id"].to_numpy()):
        raise SystemExit(f"{labels_path} does not label the rows of the test set; regenerate both together")
    return Data(train, test, train["target"].to_numpy(), labels["target"].to_numpy(), variant)


def data_files() -> list[Path]:
    """Every variant's train, test and hidden label files."""
    return [
        folder / name
        for v in VARIANTS
        for folder, name in ((DATA_DIR, v.train_file), (DATA_DIR, v.test_file), (HIDDEN_DIR, v.labels_file))
    ]


def data_hashes() -> dict[str, str]:
    """SHA-256 of each file the scores depend on (every variant's), so that a stale record is detected."""
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest() for p in data_files()}


# --------------------------------------------------------------------------- models


def single_threaded() -> Any:
    """One BLAS/OpenMP thread: polite on a shared machine, and the same sums on every machine."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _linear_columns(numeric: list[str]) -> Any:
    """Median-impute and scale the numbers, one-hot the categories (exercise 2)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )


def _tree_columns(numeric: list[str], impute: bool) -> Any:
    """Numbers as they are (or median-imputed, for trees without NaN support), one-hot categories."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    num: Any = SimpleImputer(strategy="median") if impute else "passthrough"
    return ColumnTransformer(
        [
            ("num", num, numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
        ]
    )


def logistic(numeric: list[str], seed: int, C: float = 1.0) -> Any:
    """Exercise 3's scaled logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_linear_columns(numeric), LogisticRegression(C=C, max_iter=1000))


def knn(numeric: list[str], seed: int, k: int = 100) -> Any:
    """k nearest neighbours on the scaled, one-hot matrix."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_linear_columns(numeric), KNeighborsClassifier(n_neighbors=k))


def naive_bayes(numeric: list[str], seed: int) -> Any:
    """Gaussian naive Bayes on the scaled, one-hot matrix (dense)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
        ]
    )
    return make_pipeline(columns, GaussianNB())


def hist_boosting(numeric: list[str], seed: int, **params: Any) -> Any:
    """Exercise 4's booster; ``params`` override the notebook's tuned settings."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline

    settings = {"learning_rate": 0.05, "max_iter": 200, "max_depth": 3, "min_samples_leaf": 50, **params}
    booster = HistGradientBoostingClassifier(early_stopping=False, random_state=seed, **settings)
    return make_pipeline(_tree_columns(numeric, impute=False), booster)


def random_forest(numeric: list[str], seed: int, leaf: int = 10, max_features: Any = 0.5) -> Any:
    """A random forest of 300 trees on median-imputed numbers."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    forest = RandomForestClassifier(
        n_estimators=300, min_samples_leaf=leaf, max_features=max_features, random_state=seed, n_jobs=1
    )
    return make_pipeline(_tree_columns(numeric, impute=True), forest)


def gradient_boosting(
    numeric: list[str], seed: int, depth: int = 3, trees: int = 200, rate: float = 0.05
) -> Any:
    """scikit-learn's classic gradient boosting, with row subsampling (so the seed matters)."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline

    booster = GradientBoostingClassifier(
        n_estimators=trees, learning_rate=rate, max_depth=depth, subsample=0.8, random_state=seed
    )
    return make_pipeline(_tree_columns(numeric, impute=True), booster)


@dataclass(frozen=True)
class Approach:
    """One kind of honest solution: a model (or a blend of two), tried with a few settings."""

    name: str
    tier: str | None
    """The highest tier this kind of work is meant to reach; None: recorded, binds no tier."""
    what: str
    build: Callable[..., Any] | None = None
    features: bool = False
    settings: tuple[dict[str, Any], ...] = ({},)
    blend: tuple[str, str] = ()
    seeded: bool = True
    """False when the seed cannot change the predictions: one run stands for every seed."""


HGB_TUNED = (
    {},  # the notebook's settings
    {"learning_rate": 0.03, "max_iter": 300, "max_depth": 2, "min_samples_leaf": 100},
    {"learning_rate": 0.1, "max_iter": 100, "max_depth": 3, "min_samples_leaf": 30},
)
RF_TUNED = (
    {"leaf": 10, "max_features": 0.5},
    {"leaf": 5, "max_features": "sqrt"},
    {"leaf": 20, "max_features": 0.5},
)
GB_TUNED = ({"depth": 3, "trees": 200, "rate": 0.05}, {"depth": 2, "trees": 300, "rate": 0.05})

APPROACHES = (
    Approach("naive-bayes-raw", None, "Gaussian naive Bayes, raw columns", naive_bayes, seeded=False),
    Approach(
        "logistic-raw",
        "baseline",
        "logistic regression, raw columns",
        logistic,
        settings=({"C": 1.0}, {"C": 0.1}, {"C": 10.0}),
        seeded=False,
    ),
    Approach(
        "knn-raw",
        "baseline",
        "k-NN, raw columns",
        knn,
        settings=({"k": 50}, {"k": 100}, {"k": 200}),
        seeded=False,
    ),
    Approach(
        "logistic-features",
        "baseline",
        "logistic regression, engineered features",
        logistic,
        features=True,
        settings=({"C": 1.0}, {"C": 0.1}),
        seeded=False,
    ),
    Approach(
        "knn-features",
        "baseline",
        "k-NN, engineered features",
        knn,
        features=True,
        settings=({"k": 100}, {"k": 200}),
        seeded=False,
    ),
    Approach(
        "hist-boosting-default-raw",
        "baseline",
        "untuned HistGradientBoosting, raw columns",
        hist_boosting,
        settings=({"learning_rate": 0.1, "max_iter": 100, "max_depth": None, "min_samples_leaf": 20},),
    ),
    Approach(
        "hist-boosting-raw",
        "good",
        "tuned HistGradientBoosting, raw columns",
        hist_boosting,
        settings=HGB_TUNED,
    ),
    Approach("random-forest-raw", "good", "random forest, raw columns", random_forest, settings=RF_TUNED),
    Approach(
        "gradient-boosting-raw",
        "good",
        "tuned GradientBoosting, raw columns",
        gradient_boosting,
        settings=GB_TUNED,
    ),
    Approach(
        "hist-boosting-features",
        "strong",
        "tuned HistGradientBoosting, engineered features",
        hist_boosting,
        features=True,
        settings=HGB_TUNED,
    ),
    Approach(
        "random-forest-features",
        "strong",
        "random forest, engineered features",
        random_forest,
        features=True,
        settings=RF_TUNED,
    ),
    Approach(
        "gradient-boosting-features",
        "strong",
        "tuned GradientBoosting, engineered features",
        gradient_boosting,
        features=True,
        settings=GB_TUNED,
    ),
    Approach(
        "blend-logistic-hist-boosting",
        "strong",
        "the reference: logistic + HistGradientBoosting, features, averaged",
        blend=("logistic-features", "hist-boosting-features"),
    ),
    Approach(
        "blend-logistic-forest",
        "strong",
        "logistic + random forest, features, averaged",
        blend=("logistic-features", "random-forest-features"),
    ),
    Approach(
        "blend-forest-gradient-boosting",
        "strong",
        "random forest + GradientBoosting, features, averaged",
        blend=("random-forest-features", "gradient-boosting-features"),
    ),
    Approach(
        "blend-logistic-knn-raw",
        None,
        "logistic + k-NN, raw columns, averaged: a blend with neither the features nor an ensemble",
        blend=("logistic-raw", "knn-raw"),
    ),
)


def _label(settings: dict[str, Any]) -> str:
    """A short, stable text for a settings dict (``{}`` is the function's defaults)."""
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "defaults"


@dataclass(frozen=True)
class Run:
    """One honest solution under one setting and one seed, scored on the hidden labels."""

    approach: str
    tier: str | None
    settings: str
    seed: int
    auc: float
    cv_auc: float | None = None
    variant: int = 0


def _predict(approach: Approach, settings: dict[str, Any], seed: int, data: Data) -> np.ndarray:
    """Fit on all of train and return the test probabilities in id order."""
    train, test = (
        (add_features(data.train), add_features(data.test)) if approach.features else (data.train, data.test)
    )
    model = approach.build(FEATURES if approach.features else NUMERIC, seed, **settings)  # type: ignore[misc]
    return model.fit(train, data.y).predict_proba(test)[:, 1]


def _cv_auc(approach: Approach, settings: dict[str, Any], data: Data) -> float:
    """5-fold CV AUC on train with the notebook's default folds: is the setting a sane choice?"""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    train = add_features(data.train) if approach.features else data.train
    model = approach.build(FEATURES if approach.features else NUMERIC, 0, **settings)  # type: ignore[misc]
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return float(cross_val_score(model, train, data.y, cv=folds, scoring="roc_auc").mean())


def measure(
    data: Data,
    approaches: Iterable[Approach] = APPROACHES,
    seeds: Iterable[int] | None = None,
    *,
    with_cv: bool = True,
    log: Callable[[str], None] = print,
) -> list[Run]:
    """Score every approach under every setting and seed (one run for unseeded ones)."""
    approaches = list(approaches)
    seeds = list(seeds) if seeds is not None else seeds_for(data.variant)
    v = data.variant
    by_name = {a.name: a for a in approaches}
    predictions: dict[tuple[str, int], np.ndarray] = {}  # first setting of each model, for blends
    runs: list[Run] = []
    for approach in approaches:
        if approach.blend:
            parts = [by_name[name] for name in approach.blend]
            for seed in seeds:
                blended = sum(
                    predictions.get((p.name, seed), predictions.get((p.name, seeds[0]))) for p in parts
                )
                auc = metric_value("roc_auc", blended / len(parts), data.labels)
                runs.append(
                    Run(approach.name, approach.tier, "first settings of each, averaged", seed, auc, None, v)
                )
            log(f"{approach.name:32s} {min(r.auc for r in runs if r.approach == approach.name):.4f} (lowest)")
            continue
        for index, settings in enumerate(approach.settings):
            cv = _cv_auc(approach, settings, data) if with_cv else None
            for seed in seeds if approach.seeded else seeds[:1]:
                started = time.perf_counter()
                probabilities = _predict(approach, settings, seed, data)
                if index == 0:
                    predictions[approach.name, seed] = probabilities
                auc = metric_value("roc_auc", probabilities, data.labels)
                runs.append(Run(approach.name, approach.tier, _label(settings), seed, auc, cv, v))
                log(
                    f"v{v} {approach.name:32s} {_label(settings):55s} seed {seed:>10d}  test AUC {auc:.4f}"
                    + (f"  CV {cv:.4f}" if cv is not None else "")
                    + f"  ({time.perf_counter() - started:.1f} s)"
                )
    return runs


# --------------------------------------------------------------------------- standard errors


def hanley_mcneil_se(auc: float, positives: int, negatives: int) -> float:
    """Standard error of an AUC (Hanley & McNeil 1982, Radiology 143:29-36)."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    variance = (
        auc * (1.0 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def null_se(positives: int, negatives: int) -> float:
    """Standard error of the AUC of a random ranking (Mann-Whitney under the null)."""
    return math.sqrt((positives + negatives + 1) / (12.0 * positives * negatives))


def bootstrap_se(predictions: np.ndarray, labels: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES) -> float:
    """Standard deviation of the AUC over stratified bootstrap resamples of the test rows."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels != 1)
    scores = []
    for _ in range(resamples):
        rows = np.concatenate([rng.choice(pos, size=len(pos)), rng.choice(neg, size=len(neg))])
        scores.append(metric_value("roc_auc", predictions[rows], labels[rows]))
    return float(np.std(scores, ddof=1))


# --------------------------------------------------------------------------- tiers


def tier_rank(tier: str | None) -> int:
    """-1 for work that binds no tier, else the tier's position in ``TIERS``."""
    return TIERS.index(tier) if tier in TIERS else -1


def floor3(value: float) -> float:
    """Round down to three decimals (never up: a threshold only gets safer)."""
    return math.floor(value * 1000.0 + 1e-9) / 1000.0


def run_label(run: dict[str, Any]) -> str:
    """How a run is named in the record: approach, settings, variant and seed."""
    return f"{run['approach']} ({run['settings']}, variant {run['variant']}, seed {run['seed']})"


def recommend(
    runs: list[dict[str, Any]], counts: dict[int, tuple[int, int]], bootstrap: dict[str, float]
) -> dict[str, Any]:
    """Per tier: the honest lower bound over every variant, its SE and the highest threshold
    two SE below it.

    ``counts`` maps a variant to its (positives, negatives); ``bootstrap`` maps a tier to the
    bootstrap SE of its binding run; the SE used is the larger of that and Hanley-McNeil's
    (on the binding run's variant), so the margin holds under either estimator.
    """
    out: dict[str, Any] = {}
    for tier in TIERS:
        honest = [r for r in runs if tier_rank(r["tier"]) >= tier_rank(tier)]
        lowest = min(honest, key=lambda r: r["auc"])
        scores = [r["auc"] for r in honest]
        se_hm = hanley_mcneil_se(lowest["auc"], *counts[lowest["variant"]])
        se = max(se_hm, bootstrap.get(tier, 0.0))
        out[tier] = {
            "runs": len(honest),
            "lower_bound": lowest["auc"],
            "binding_variant": lowest["variant"],
            "binding_run": run_label(lowest),
            "lowest_by_variant": {
                str(v.number): min(r["auc"] for r in honest if r["variant"] == v.number) for v in VARIANTS
            },
            "median": float(np.median(scores)),
            "highest": max(scores),
            "se_hanley_mcneil": se_hm,
            "se_bootstrap": bootstrap.get(tier),
            "se": se,
            "threshold": floor3(lowest["auc"] - MARGIN_SE * se),
        }
    return out


def one_column_rules(data: Data) -> float:
    """The best AUC of any single raw numeric column, either sign, NaN filled three ways."""
    best = 0.5
    for column in NUMERIC:
        values = data.test[column].astype(float)
        for fill in (values.median(), values.min(), values.max()):
            auc = metric_value("roc_auc", values.fillna(fill).to_numpy(), data.labels)
            best = max(best, auc, 1.0 - auc)
    return best


def floors(data: Data) -> dict[str, float]:
    """What trivial work scores, and the lowest a baseline tier may be to stay out of its reach."""
    positives, negatives = data.counts
    best_rule = one_column_rules(data)
    return {
        "constant": metric_value("roc_auc", np.full(len(data.labels), 0.5), data.labels),
        "random_se": null_se(positives, negatives),
        "random_floor": 0.5 + RANDOM_SE * null_se(positives, negatives),
        "one_column_rule": best_rule,
        "one_column_floor": best_rule + MARGIN_SE * hanley_mcneil_se(best_rule, positives, negatives),
    }


def notebook_thresholds(path: Path = NOTEBOOK) -> dict[str, float]:
    """The ``threshold=`` of each ``check("comp.auc-<tier>", ...)`` in the notebook's code cells."""
    found: dict[str, float] = {}
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check" and node.args):
                continue
            name = node.args[0]
            if not (isinstance(name, ast.Constant) and str(name.value).startswith("comp.auc-")):
                continue
            for keyword in node.keywords:
                if keyword.arg == "threshold":
                    found[str(name.value).removeprefix("comp.auc-")] = float(ast.literal_eval(keyword.value))
    return found


def build_record(datas: list[Data], runs: list[Run], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Everything the test needs to re-derive the thresholds without refitting a model."""
    rows = [r.__dict__ for r in runs]
    counts = {d.variant: d.counts for d in datas}
    draft = recommend(rows, counts, {})
    bootstrap: dict[str, float] = {}
    for tier in TIERS:  # the bootstrap SE of each tier's binding run, refitted once
        run = next(r for r in runs if run_label(r.__dict__) == draft[tier]["binding_run"])
        approach = next(a for a in APPROACHES if a.name == run.approach)
        data = datas[run.variant]
        predictions = _blend_or_predict(approach, run, data)
        bootstrap[tier] = bootstrap_se(predictions, data.labels)
        log(f"bootstrap SE of the {tier} tier's binding run: {bootstrap[tier]:.4f}")
    return {
        "about": "Honest test AUCs of the phase-2 competition on every data variant, "
        "by tools/competition_tiers.py --write.",
        "data": data_hashes(),
        "variants": {
            str(d.variant): {
                "positives": d.counts[0],
                "negatives": d.counts[1],
                "seeds": seeds_for(d.variant),
                "floors": floors(d),
            }
            for d in datas
        },
        "margin_se": MARGIN_SE,
        "se_estimator": "max(Hanley-McNeil 1982, stratified bootstrap of the test rows, "
        f"{BOOTSTRAP_RESAMPLES} resamples)",
        "runs": rows,
        "bootstrap_se": bootstrap,
        "tiers": recommend(rows, counts, bootstrap),
    }


def _blend_or_predict(approach: Approach, run: Run, data: Data) -> np.ndarray:
    """Re-create one run's test predictions (for its bootstrap)."""
    if approach.blend:
        parts = [next(a for a in APPROACHES if a.name == name) for name in approach.blend]
        return sum(_predict(p, p.settings[0], run.seed, data) for p in parts) / len(parts)
    settings = next(s for s in approach.settings if _label(s) == run.settings)
    return _predict(approach, settings, run.seed, data)


def report(record: dict[str, Any], log: Callable[[str], None] = print) -> None:
    """Print the spread per approach, the tiers and the notebook's current thresholds."""
    log("")
    header = f"{'approach':32s} {'tier':9s} {'runs':>4s} {'lowest':>7s} {'median':>7s} {'highest':>7s}"
    log(f"{header}  lowest by variant")
    for approach in APPROACHES:
        scores = [r["auc"] for r in record["runs"] if r["approach"] == approach.name]
        mine = [r for r in record["runs"] if r["approach"] == approach.name]
        by_variant = " ".join(
            f"{min(r['auc'] for r in mine if r['variant'] == v.number):.4f}" for v in VARIANTS
        )
        log(
            f"{approach.name:32s} {approach.tier or '-':9s} {len(scores):4d} {min(scores):7.4f} "
            f"{float(np.median(scores)):7.4f} {max(scores):7.4f}  {by_variant}"
        )
    log("")
    current = notebook_thresholds()
    for tier, t in record["tiers"].items():
        log(
            f"{tier:8s}: {t['runs']:3d} honest runs, lowest {t['lower_bound']:.4f} ({t['binding_run']}), "
            f"SE {t['se']:.4f} (Hanley-McNeil {t['se_hanley_mcneil']:.4f}, bootstrap {t['se_bootstrap']:.4f})"
        )
        log(f"          recommended threshold {t['threshold']:.3f}; the notebook has {current.get(tier)}")
    for number, variant in record["variants"].items():
        f = variant["floors"]
        log(
            f"variant {number} floors: constant {f['constant']:.3f}; random 0.5 + {RANDOM_SE:g} x "
            f"{f['random_se']:.4f} = {f['random_floor']:.4f}; best one-column rule "
            f"{f['one_column_rule']:.4f} + 2 SE = {f['one_column_floor']:.4f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Measure, print, and with ``--write`` record the honest scores and the thresholds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help=f"record the result in {RECORD.relative_to(ROOT)}"
    )
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation column (faster)")
    args = parser.parse_args(argv)
    datas = [load_data(v.number) for v in VARIANTS]
    with single_threaded():
        runs = [run for data in datas for run in measure(data, with_cv=not args.no_cv)]
        record = build_record(datas, runs)
    report(record)
    if args.write:
        RECORD.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {RECORD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
