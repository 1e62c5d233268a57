"""Offline data sets for the curriculum notebooks, generated from a seed.

Why generated and not downloaded: the notebooks must run without a network, and every
parameter set (``seed``) must give *different* data, so that an answer hard-coded for the
default seed fails under another one. The generators are deterministic: the same seed
always gives the same tables, on every machine.

Why messy on purpose: the exercises teach cleaning, so the data carries the faults that
real exports carry, each one documented below so that a notebook can explain it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORY_PRICES: dict[str, float] = {
    "books": 14.0,
    "electronics": 120.0,
    "garden": 35.0,
    "grocery": 6.0,
    "toys": 22.0,
}
"""The tidy category names with a typical unit price each, so a group statistic is meaningful."""

CATEGORY_QUANTITY: dict[str, float] = {
    "books": 0.6,
    "electronics": 0.2,
    "garden": 0.8,
    "grocery": 2.5,
    "toys": 0.7,
}
"""Mean number of *extra* units per order line (quantity is 1 + Poisson of this)."""

REGIONS: tuple[str, ...] = ("North", "South", "East", "West")

N_CUSTOMERS = 60
N_ORDERS = 320
"""Genuine orders; the messy export adds duplicates and a few impossible rows on top."""
N_IMPOSSIBLE = 3
N_DUPLICATES = 8
N_UNKNOWN_CUSTOMER_ORDERS = 5
SHARE_WITHOUT_ORDERS = 0.12
SHARE_EU_SHOP = 0.35
SHARE_MISSING_PRICE = 0.07
YEAR_START = np.datetime64("2024-01-01")
SIGNUP_START = np.datetime64("2022-01-01")


def _customer_id(number: np.ndarray) -> np.ndarray:
    return np.array([f"C{n:04d}" for n in number], dtype=object)


def _customers(rng: np.random.Generator) -> pd.DataFrame:
    """The CRM table: clean, but exported in no particular order."""
    ids = _customer_id(rng.permutation(np.arange(1, N_CUSTOMERS + 1)))
    signup = SIGNUP_START + rng.integers(0, 730, size=N_CUSTOMERS)  # 2022 and 2023
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="str"),
            "region": pd.Series(rng.choice(REGIONS, size=N_CUSTOMERS), dtype="str"),
            "signup_date": pd.Series(signup).astype("datetime64[us]"),
        }
    )


def _clean_orders(rng: np.random.Generator, customer_ids: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """All order lines as they really happened, plus a mask of the impossible ones.

    Order ids increase with the order date, as a shop's order counter does.
    """
    n_total = N_ORDERS + N_IMPOSSIBLE
    # Some customers never order; the others order at very different rates (gamma weights).
    n_active = round(N_CUSTOMERS * (1 - SHARE_WITHOUT_ORDERS))
    active = rng.choice(np.sort(customer_ids), size=n_active, replace=False)
    weights = rng.gamma(shape=1.5, size=n_active)
    who = rng.choice(active, size=n_total, p=weights / weights.sum())
    # A few orders belong to customers deleted from the CRM: their ids are unknown there.
    unknown_pool = _customer_id(np.arange(N_CUSTOMERS + 1, N_CUSTOMERS + 40))
    unknown_rows = rng.choice(n_total, size=N_UNKNOWN_CUSTOMER_ORDERS, replace=False)
    who[unknown_rows] = rng.choice(unknown_pool, size=N_UNKNOWN_CUSTOMER_ORDERS, replace=True)

    days = np.sort(rng.integers(0, 366, size=n_total))  # 2024 is a leap year
    names = list(CATEGORY_PRICES)
    category = rng.choice(names, size=n_total, p=[0.25, 0.15, 0.15, 0.25, 0.20])
    base = np.array([CATEGORY_PRICES[c] for c in category])
    price = np.round(base * rng.lognormal(0.0, 0.35, size=n_total), 2)
    quantity = 1 + rng.poisson([CATEGORY_QUANTITY[c] for c in category])

    impossible = np.zeros(n_total, dtype=bool)
    impossible[rng.choice(n_total, size=N_IMPOSSIBLE, replace=False)] = True
    quantity[impossible] = rng.integers(-3, 1, size=N_IMPOSSIBLE)  # returns typed in as orders: 0 or less

    orders = pd.DataFrame(
        {
            "order_id": np.arange(100001, 100001 + n_total, dtype=np.int64),
            "customer_id": pd.Series(who, dtype="str"),
            "order_date": pd.Series(YEAR_START + days).astype("datetime64[us]"),
            "category": pd.Series(category, dtype="str"),
            "quantity": quantity.astype(np.int64),
            "unit_price": price.astype(np.float64),
        }
    )
    return orders, impossible


def _messy_category(rng: np.random.Generator, category: pd.Series, eu_shop: np.ndarray) -> pd.Series:
    """The web shop writes "Books", the EU shop "BOOKS", and hand edits add stray spaces."""
    spelled = np.where(eu_shop, category.str.upper(), category.str.title())
    hand_typed = rng.random(len(category)) < 0.25
    spelled = np.where(hand_typed, category.to_numpy(), spelled)
    side = rng.choice(["", "left", "right"], size=len(category), p=[0.85, 0.075, 0.075])
    padded = [
        (" " + s if k == "left" else s + " " if k == "right" else s)
        for s, k in zip(spelled, side, strict=True)
    ]
    return pd.Series(padded, dtype="str")


def shop_orders(seed: int, *, messy: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An online shop's order export and its customer table, generated from ``seed``.

    Returns ``(orders, customers)``. The data describes one year (2024) of a small shop
    with two sales systems (a web shop and an EU shop) that feed one nightly export.

    ``customers`` (60 rows, in no particular order; identical for both values of
    ``messy``): ``customer_id`` (str, "C0001"...), ``region`` (str: North, South, East,
    West) and ``signup_date`` (datetime, in 2022 or 2023). Roughly one customer in five
    never ordered anything.

    ``orders`` with ``messy=True`` is the raw export, about 330 rows, with the faults a
    real export has:

    - ``order_id`` (int): unique per order, increasing with the date; the rows come
      grouped by sales system, so they are *not* sorted by it;
    - ``customer_id`` (str): a handful of orders belong to customers that are missing
      from ``customers`` (deleted from the CRM);
    - ``order_date`` (str): ISO "2024-03-07" from the web shop, day-first "07/03/2024"
      from the EU shop;
    - ``category`` (str): five categories spelled inconsistently ("Books", "BOOKS",
      " books", ...);
    - ``quantity`` (int): at least 1, except a few impossible rows with 0 or less;
    - ``unit_price`` (float): about 7 % missing (NaN); prices depend on the category;
    - a few exact duplicate rows at the end (the export re-sent part of a batch).

    With ``messy=False`` you get the same genuine orders as they really were: no
    duplicates or impossible rows, tidy lower-case categories, ``order_date`` as datetime,
    every ``unit_price`` known, sorted by ``order_id`` with a fresh 0..n-1 index. It is the
    reference that later exercises are tested on, so that a slip in an early cleaning
    step does not cost marks in a later one. The unknown customers stay: they are a fact
    about the data, not a formatting fault.
    """
    rng = np.random.default_rng(seed)
    customers = _customers(rng)
    orders, impossible = _clean_orders(rng, customers["customer_id"].to_numpy())
    if not messy:
        return orders[~impossible].reset_index(drop=True), customers

    n = len(orders)
    raw = orders.copy()
    eu_shop = rng.random(n) < SHARE_EU_SHOP
    iso = raw["order_date"].dt.strftime("%Y-%m-%d")
    day_first = raw["order_date"].dt.strftime("%d/%m/%Y")
    raw["order_date"] = pd.Series(np.where(eu_shop, day_first, iso), dtype="str")
    raw["category"] = _messy_category(rng, raw["category"], eu_shop)
    raw.loc[rng.random(n) < SHARE_MISSING_PRICE, "unit_price"] = np.nan
    # Web-shop rows first, then EU-shop rows; each system exports in its own order.
    raw = pd.concat([raw[~eu_shop], raw[eu_shop]])
    resent = raw.iloc[rng.choice(n, size=N_DUPLICATES, replace=False)]
    raw = pd.concat([raw, resent]).reset_index(drop=True)
    return raw, customers
