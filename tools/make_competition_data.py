"""Generate the phase-2 competition data: churn of a video-streaming subscription.

The story: *StreamBox* sells monthly video subscriptions. Each row is one customer at a
snapshot date; the target says whether they cancelled within the following 60 days.
The training set is a snapshot from 2024; the test set is a snapshot six months later,
so it is drawn from a slightly different world (see "Shift" below).

The competition has three data **variants** (``VARIANTS`` below): the same business, the
same columns and sizes, but each drawn from its own generator seed and its own ``World``
(coefficients, churn rate, which engineered feature matters most, missingness, price
drift). The notebook reads variant ``seed % 3``, so the seeds the grader runs it under
show it data it has not seen: a pipeline must work on any of them, and a number copied
from one run does not carry over. The data cannot be regenerated in the learner's kernel
(the generator is public, so the kernel could rebuild the labels); the variants are files.

Files written (paths relative to the repository root)::

    solutions/phase2-ml-dl/data/competition_train.csv        variant 0: id, features..., target (4000 rows)
    solutions/phase2-ml-dl/data/competition_test.csv         variant 0: id, features...         (20000 rows)
    hidden/phase2-ml-dl/competition_test_labels.csv          variant 0: id, target, split       (20000 rows)
    solutions/phase2-ml-dl/data/competition_train_v<k>.csv.gz  variant k = 1, 2 (gzip, no timestamp)
    solutions/phase2-ml-dl/data/competition_test_v<k>.csv.gz
    hidden/phase2-ml-dl/competition_test_labels_v<k>.csv

Variant 0 is the original data, byte for byte: the default seed reads it, and the
leaderboard (the manifest's ``competition.labels``) ranks on it. (``autograder release
phase2-ml-dl`` copies the ``data/`` folder into ``curriculum/``.)

Why so many test rows: the leaderboard tiers are thresholds on one test AUC, and that
number is noisy. Its standard error shrinks as 1/sqrt(rows): about 0.011 on 2500 rows,
about 0.004 on 20000. The tiers lie two standard errors below what honest work of their
kind reaches (tools/competition_tiers.py), so only a test set this large lets them tell
a plain logistic regression on the raw columns from engineered features with a tuned
ensemble. The training set stays small (4000 rows): that is the learner's problem.

The test rows are written in a shuffled order; the labels file is sorted by ``id``.
``split`` is ``"public"`` for a fixed 40 % of the test rows (chosen by the generator's
own random stream, so it never changes) and ``"private"`` for the other 60 %.
The hidden labels must never be copied into ``solutions/`` or ``curriculum/``.

Columns (variant 0's numbers; the other variants shift the rates)
-----------------------------------------------------------------
id (int)
    Unique customer number; train ids and test ids never overlap.
tenure_months (int, 1..96)
    Months since sign-up. Right-skewed (many new customers, a long tail of loyal ones).
plan (str)
    ``basic``, ``standard``, ``premium``, ``family``, and the rare ``student`` (~2 %).
    The test set also contains ``sports_plus``, a plan launched after the training
    snapshot (~2 % of test rows, never seen in training).
monthly_charges (float, EUR)
    The plan's list price, plus add-ons and discounts (noisy, skewed upwards). About 2 %
    missing, completely at random (a billing-export glitch).
contract (str)
    ``monthly`` or ``annual``. Annual customers rarely leave.
payment_method (str)
    ``card``, ``direct_debit``, ``paypal`` and the rare ``gift_card`` (~2 %), whose
    customers churn much more often.
region (str)
    ``north``, ``south``, ``east``, ``west`` and the rare ``islands`` (~1.5 %).
profiles (int, 1..5)
    Viewer profiles on the account.
support_tickets_90d (int)
    Support tickets in the last 90 days; Poisson, over-dispersed.
weekly_hours (float)
    Average viewing hours per week over the last month (log-normal). About 7 % missing,
    **not at random**: the usage tracker only reports for customers who opened the app
    recently, so disengaged customers (who churn more) are missing far more often.
days_since_last_login (int)
    Days since the last login, skewed; about 1 % missing at random.

Target and structure
--------------------
target (0/1), about 25 % positive. The log-odds of churning are a sum of

* a steep early-tenure effect, on log(tenure);
* a **value-for-money interaction**: the price paid per viewing hour,
  ``monthly_charges / (weekly_hours + 1)``. Expensive *and* little-used accounts churn;
  expensive and heavily used ones do not. A tree ensemble finds this interaction, a
  linear model on the raw columns only half-finds it, and the ratio itself (an
  engineered feature) helps every model;
* support tickets, saturating after three, and worse for new customers
  (tickets x short tenure);
* contract, payment method, region and plan effects;
* the latent disengagement that also drives ``weekly_hours`` missingness and
  ``days_since_last_login``.

Then 6 % of labels are flipped at random (label noise), so no model reaches an AUC of 1.

Shift
-----
The test snapshot is later: list prices rose by about 7 %, the ``sports_plus`` plan
appears, tenure is a little longer on average, and usage is a little lower. A model
that leans on absolute prices, or that breaks on an unseen category, pays for it.

Variants 1 and 2 change the weights above (``World``), and their label noise is set so
that each kind of honest work scores about what it scores on variant 0: one threshold per
leaderboard tier serves all three (tools/competition_tiers.py measures every variant).

Run from the repository root::

    .venv/bin/python tools/make_competition_data.py
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240601
"""Fixed generator seed: the files are the same on every machine, every run."""
N_TRAIN = 4000
N_TEST = 20_000
"""Test rows: enough for a test AUC with a standard error near 0.004 (see the module docstring)."""
PUBLIC_FRACTION = 0.4

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "solutions" / "phase2-ml-dl" / "data"
HIDDEN_DIR = ROOT / "hidden" / "phase2-ml-dl"

PLANS = ["basic", "standard", "premium", "family", "student", "sports_plus"]
LIST_PRICE = {
    "basic": 7.99,
    "standard": 12.99,
    "premium": 17.99,
    "family": 21.99,
    "student": 5.99,
    "sports_plus": 29.99,
}
PLAN_EFFECT = {
    "basic": 0.15,
    "standard": 0.0,
    "premium": -0.1,
    "family": -0.35,
    "student": 0.6,
    "sports_plus": 0.5,
}
PAYMENT_EFFECT = {"card": 0.0, "direct_debit": -0.45, "paypal": 0.15, "gift_card": 1.1}
REGION_EFFECT = {"north": 0.0, "south": 0.1, "east": -0.05, "west": 0.05, "islands": 0.6}


@dataclass(frozen=True)
class World:
    """What one data variant's customers are made of. The defaults are variant 0's world."""

    intercept: float = -2.7
    """The churn rate's knob."""
    tenure: float = 0.5
    """The early-tenure effect, on log(tenure)."""
    anniversary: float = 0.7
    """Monthly customers near their first anniversary reconsider."""
    cost_per_hour: float = 1.0
    """The smooth value-for-money effect, on log(charges / (hours + 1))."""
    pricey_and_idle: float = 3.2
    """The sharp interaction: expensive *and* little used."""
    price_ratio: float = 3.0
    """Paying more than the plan's list price (add-ons), on log(charges / list price)."""
    login: float = 1.6
    login_days: int = 7
    """Customers who have not logged in for more than ``login_days`` days churn more."""
    tickets: float = 0.45
    tickets_new: float = 0.9
    """Support tickets, and tickets of customers in their first six months."""
    annual: float = -1.3
    disengaged: float = 0.2
    label_noise: float = 0.06
    hours_missing: float = -3.3
    hours_missing_slope: float = 1.1
    """``weekly_hours`` is missing with probability sigmoid(hours_missing + slope x disengagement)."""
    charges_missing: float = 0.02
    login_missing: float = 0.01
    tenure_scale: float = 15.0
    tenure_scale_later: float = 17.0
    price_drift: float = 1.07
    usage_shift: float = -0.08


@dataclass(frozen=True)
class Variant:
    """One data set of the competition: its generator seed, its world and its files."""

    number: int
    seed: int
    world: World

    @property
    def suffix(self) -> str:
        return "" if self.number == 0 else f"_v{self.number}"

    @property
    def train_file(self) -> str:
        return "competition_train.csv" if self.number == 0 else f"competition_train{self.suffix}.csv.gz"

    @property
    def test_file(self) -> str:
        return "competition_test.csv" if self.number == 0 else f"competition_test{self.suffix}.csv.gz"

    @property
    def labels_file(self) -> str:
        return f"competition_test_labels{self.suffix}.csv"


VARIANTS = (
    Variant(0, SEED, World()),
    # a price-sensitive world: paying above the plan's list price matters more, the
    # usage tracker loses more (and more telling) weekly_hours, more charges are missing,
    # prices rose 10 % by the test snapshot, logins and tenure matter less
    Variant(
        1,
        SEED + 1,
        World(
            intercept=-2.8,
            tenure=0.4,
            price_ratio=4.5,
            login=1.2,
            label_noise=0.055,
            hours_missing=-2.6,
            hours_missing_slope=1.4,
            charges_missing=0.04,
            price_drift=1.10,
        ),
    ),
    # an engagement world: long absences (over ten days), support tickets and the first
    # anniversary matter more, value for money is smoother (the ratio more, the sharp
    # interaction less), add-ons less; more churners, fewer missing weekly_hours, more
    # missing logins
    Variant(
        2,
        SEED + 2,
        World(
            intercept=-2.6,
            anniversary=1.0,
            cost_per_hour=1.5,
            pricey_and_idle=2.8,
            price_ratio=2.0,
            login=2.6,
            login_days=10,
            tickets=0.6,
            tickets_new=1.5,
            label_noise=0.07,
            hours_missing=-3.6,
            login_missing=0.04,
        ),
    ),
)
"""The notebook reads variant ``seed % len(VARIANTS)``; the default seed (0) reads variant 0,
the leaderboard's data (its files are the original ones, byte for byte)."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


def _choice(rng: np.random.Generator, levels: dict[str, float], n: int) -> np.ndarray:
    """Draw ``n`` labels with the given (unnormalised) probabilities."""
    names = list(levels)
    p = np.array([levels[k] for k in names], dtype=float)
    return rng.choice(np.array(names, dtype=object), size=n, p=p / p.sum())


def simulate(
    rng: np.random.Generator, n: int, *, later: bool, first_id: int, world: World = World()
) -> pd.DataFrame:
    """Simulate ``n`` customers of ``world``; ``later`` selects the shifted test-period world.

    Returns the features, the ``target`` column (with label noise) and ``id``. Every world
    draws the same random numbers in the same order: only what they are turned into differs.
    """
    w = world
    plan_p = {"basic": 0.3, "standard": 0.34, "premium": 0.17, "family": 0.17, "student": 0.02}
    if later:
        plan_p = {**plan_p, "standard": 0.32, "sports_plus": 0.02}
    plan = _choice(rng, plan_p, n)
    contract = np.where(rng.random(n) < 0.27, "annual", "monthly").astype(object)
    payment = _choice(rng, {"card": 0.44, "direct_debit": 0.3, "paypal": 0.24, "gift_card": 0.02}, n)
    region = _choice(rng, {"north": 0.3, "south": 0.27, "east": 0.22, "west": 0.195, "islands": 0.015}, n)
    profiles = np.where(
        plan == "family", rng.integers(2, 6, n), np.clip(rng.poisson(0.8, n) + 1, 1, 5)
    ).astype(int)

    tenure_scale = w.tenure_scale_later if later else w.tenure_scale
    tenure = np.clip(np.ceil(rng.gamma(1.1, tenure_scale, n)), 1, 96).astype(int)
    tenure = np.where(contract == "annual", np.maximum(tenure, 12), tenure)

    # latent disengagement: drives low usage, old logins, missing usage and churn
    disengaged = rng.normal(0.0, 1.0, n)

    price_drift = w.price_drift if later else 1.0
    list_price = np.array([LIST_PRICE[p] for p in plan]) * price_drift
    addons = rng.gamma(0.6, 4.0, n) * (rng.random(n) < 0.45)
    discount = np.where(contract == "annual", 0.85, 1.0)
    monthly = np.round((list_price + addons) * discount * rng.lognormal(0.0, 0.05, n), 2)

    usage_shift = w.usage_shift if later else 0.0
    log_hours = 1.9 + usage_shift - 0.55 * disengaged + 0.12 * (profiles - 1) + rng.normal(0, 0.45, n)
    hours = np.round(np.exp(log_hours), 1)
    login = np.round(rng.exponential(np.exp(1.0 + 0.7 * disengaged))).astype(int)
    login = np.clip(login, 0, 180)

    tickets = rng.poisson(rng.gamma(0.8, 0.9 * np.exp(0.25 * disengaged), n))

    cost_per_hour = monthly / (hours + 1.0)
    pricey_and_idle = _sigmoid((monthly - 14.0) / 1.0) * _sigmoid((5.0 - hours) / 0.7)
    logit = (
        w.intercept
        - w.tenure * (np.log(tenure) - 2.3)
        + w.anniversary * (np.abs(tenure - 12) <= 1) * (contract == "monthly")
        + w.cost_per_hour * np.tanh(1.6 * (np.log(cost_per_hour) - 0.3))
        + w.pricey_and_idle * pricey_and_idle
        + w.price_ratio * np.log(monthly / list_price)
        + w.login * (login > w.login_days)
        + w.tickets * np.minimum(tickets, 3)
        + w.tickets_new * np.minimum(tickets, 3) * (tenure <= 6)
        + np.where(contract == "annual", w.annual, 0.0)
        + np.array([PAYMENT_EFFECT[p] for p in payment])
        + np.array([REGION_EFFECT[r] for r in region])
        + np.array([PLAN_EFFECT[p] for p in plan])
        + w.disengaged * disengaged
    )
    target = (rng.random(n) < _sigmoid(logit)).astype(int)
    flip = rng.random(n) < w.label_noise
    target = np.where(flip, 1 - target, target)

    # missing values: weekly_hours not at random (more often for disengaged customers)
    p_missing_hours = 1.0 / (1.0 + np.exp(-(w.hours_missing + w.hours_missing_slope * disengaged)))
    hours_obs = np.where(rng.random(n) < p_missing_hours, np.nan, hours)
    monthly_obs = np.where(rng.random(n) < w.charges_missing, np.nan, monthly)
    login_obs = np.where(rng.random(n) < w.login_missing, np.nan, login)

    ids = first_id + np.sort(rng.choice(np.arange(10 * n), size=n, replace=False))
    frame = pd.DataFrame(
        {
            "id": ids,
            "tenure_months": tenure,
            "plan": plan,
            "monthly_charges": monthly_obs,
            "contract": contract,
            "payment_method": payment,
            "region": region,
            "profiles": profiles,
            "support_tickets_90d": tickets,
            "weekly_hours": hours_obs,
            "days_since_last_login": pd.array(login_obs, dtype="Int64"),
            "target": target,
        }
    )
    return frame.sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)


def generate(variant: Variant) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train with target, test features, hidden labels with split) of one variant."""
    rng = np.random.default_rng(variant.seed)
    train = simulate(rng, N_TRAIN, later=False, first_id=100_000, world=variant.world)
    test = simulate(rng, N_TEST, later=True, first_id=500_000, world=variant.world)

    labels = test[["id", "target"]].sort_values("id").reset_index(drop=True)
    n_public = round(PUBLIC_FRACTION * len(labels))
    public = np.zeros(len(labels), dtype=bool)
    public[rng.permutation(len(labels))[:n_public]] = True
    labels["split"] = np.where(public, "public", "private")
    return train, test.drop(columns="target"), labels


def write(variant: Variant) -> None:
    """Write one variant's train and test files and its hidden labels."""
    train, test, labels = generate(variant)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    HIDDEN_DIR.mkdir(parents=True, exist_ok=True)
    # gzip without a timestamp: the same bytes on every run
    compression = {"method": "gzip", "mtime": 0} if variant.number else None
    train.to_csv(DATA_DIR / variant.train_file, index=False, compression=compression)
    test.to_csv(DATA_DIR / variant.test_file, index=False, compression=compression)
    labels.to_csv(HIDDEN_DIR / variant.labels_file, index=False)
    n_public = int((labels["split"] == "public").sum())
    print(
        f"variant {variant.number}: train {len(train)} rows, churn rate {train['target'].mean():.3f}; "
        f"test {len(test)} rows, churn rate {labels['target'].mean():.3f}, "
        f"{n_public} public / {len(labels) - n_public} private"
    )


def main() -> None:
    """Write every variant's train and test files and hidden test labels."""
    for variant in VARIANTS:
        write(variant)


if __name__ == "__main__":
    main()
