"""Generate the phase-2 competition data: churn of a video-streaming subscription.

The story: *StreamBox* sells monthly video subscriptions. Each row is one customer at a
snapshot date; the target says whether they cancelled within the following 60 days.
The training set is a snapshot from 2024; the test set is a snapshot six months later,
so it is drawn from a slightly different world (see "Shift" below).

Files written (paths relative to the repository root)::

    solutions/phase2-ml-dl/data/competition_train.csv   id, features..., target   (4000 rows)
    solutions/phase2-ml-dl/data/competition_test.csv    id, features...          (20000 rows)
    hidden/phase2-ml-dl/competition_test_labels.csv     id, target, split        (20000 rows)

(``autograder release phase2-ml-dl`` copies the ``data/`` folder into ``curriculum/``.)

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

Columns
-------
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

Run from the repository root::

    .venv/bin/python tools/make_competition_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240601
"""Fixed generator seed: the files are the same on every machine, every run."""
N_TRAIN = 4000
N_TEST = 20_000
"""Test rows: enough for a test AUC with a standard error near 0.004 (see the module docstring)."""
PUBLIC_FRACTION = 0.4
LABEL_NOISE = 0.06

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


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


def _choice(rng: np.random.Generator, levels: dict[str, float], n: int) -> np.ndarray:
    """Draw ``n`` labels with the given (unnormalised) probabilities."""
    names = list(levels)
    p = np.array([levels[k] for k in names], dtype=float)
    return rng.choice(np.array(names, dtype=object), size=n, p=p / p.sum())


def simulate(rng: np.random.Generator, n: int, *, later: bool, first_id: int) -> pd.DataFrame:
    """Simulate ``n`` customers; ``later`` selects the shifted test-period world.

    Returns the features, the ``target`` column (with label noise) and ``id``.
    """
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

    tenure_scale = 17.0 if later else 15.0
    tenure = np.clip(np.ceil(rng.gamma(1.1, tenure_scale, n)), 1, 96).astype(int)
    tenure = np.where(contract == "annual", np.maximum(tenure, 12), tenure)

    # latent disengagement: drives low usage, old logins, missing usage and churn
    disengaged = rng.normal(0.0, 1.0, n)

    price_drift = 1.07 if later else 1.0
    list_price = np.array([LIST_PRICE[p] for p in plan]) * price_drift
    addons = rng.gamma(0.6, 4.0, n) * (rng.random(n) < 0.45)
    discount = np.where(contract == "annual", 0.85, 1.0)
    monthly = np.round((list_price + addons) * discount * rng.lognormal(0.0, 0.05, n), 2)

    usage_shift = -0.08 if later else 0.0
    log_hours = 1.9 + usage_shift - 0.55 * disengaged + 0.12 * (profiles - 1) + rng.normal(0, 0.45, n)
    hours = np.round(np.exp(log_hours), 1)
    login = np.round(rng.exponential(np.exp(1.0 + 0.7 * disengaged))).astype(int)
    login = np.clip(login, 0, 180)

    tickets = rng.poisson(rng.gamma(0.8, 0.9 * np.exp(0.25 * disengaged), n))

    cost_per_hour = monthly / (hours + 1.0)
    pricey_and_idle = _sigmoid((monthly - 14.0) / 1.0) * _sigmoid((5.0 - hours) / 0.7)
    logit = (
        -2.7
        - 0.5 * (np.log(tenure) - 2.3)
        + 0.7 * (np.abs(tenure - 12) <= 1) * (contract == "monthly")
        + 1.0 * np.tanh(1.6 * (np.log(cost_per_hour) - 0.3))
        + 3.2 * pricey_and_idle
        + 3.0 * np.log(monthly / list_price)
        + 1.6 * (login > 7)
        + 0.45 * np.minimum(tickets, 3)
        + 0.9 * np.minimum(tickets, 3) * (tenure <= 6)
        + np.where(contract == "annual", -1.3, 0.0)
        + np.array([PAYMENT_EFFECT[p] for p in payment])
        + np.array([REGION_EFFECT[r] for r in region])
        + np.array([PLAN_EFFECT[p] for p in plan])
        + 0.2 * disengaged
    )
    target = (rng.random(n) < _sigmoid(logit)).astype(int)
    flip = rng.random(n) < LABEL_NOISE
    target = np.where(flip, 1 - target, target)

    # missing values: weekly_hours not at random (more often for disengaged customers)
    p_missing_hours = 1.0 / (1.0 + np.exp(-(-3.3 + 1.1 * disengaged)))
    hours_obs = np.where(rng.random(n) < p_missing_hours, np.nan, hours)
    monthly_obs = np.where(rng.random(n) < 0.02, np.nan, monthly)
    login_obs = np.where(rng.random(n) < 0.01, np.nan, login)

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


def main() -> None:
    """Write the train and test CSVs and the hidden test labels."""
    rng = np.random.default_rng(SEED)
    train = simulate(rng, N_TRAIN, later=False, first_id=100_000)
    test = simulate(rng, N_TEST, later=True, first_id=500_000)

    labels = test[["id", "target"]].sort_values("id").reset_index(drop=True)
    n_public = round(PUBLIC_FRACTION * len(labels))
    public = np.zeros(len(labels), dtype=bool)
    public[rng.permutation(len(labels))[:n_public]] = True
    labels["split"] = np.where(public, "public", "private")

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    HIDDEN_DIR.mkdir(parents=True, exist_ok=True)
    train.to_csv(DATA_DIR / "competition_train.csv", index=False)
    test.drop(columns="target").to_csv(DATA_DIR / "competition_test.csv", index=False)
    labels.to_csv(HIDDEN_DIR / "competition_test_labels.csv", index=False)
    print(
        f"train: {len(train)} rows, churn rate {train['target'].mean():.3f}; "
        f"test: {len(test)} rows, churn rate {test['target'].mean():.3f}, "
        f"{n_public} public / {len(labels) - n_public} private"
    )


if __name__ == "__main__":
    main()
