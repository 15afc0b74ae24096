"""Synthetic shops of different shapes, with planted session intents (pure numpy/pandas: no Django import).

The recommender must hold on any shop's data; these are the shapes it is benchmarked on (bench/recommender_shops):

* ``no_rebuy``   nobody buys the same item twice (books, furniture);
* ``grocery``    thousands of items, baskets of several, most of each basket re-bought staples;
* ``few_recent`` most customers went quiet long ago: the last two months hold a few dozen;
* ``years_ago``  an ordinary shop whose data ends years before the wall clock (a historical load).

What is planted, so tests and benchmarks know the answers: every customer has a favourite top-level category
(80 % of their sessions) and, where they re-buy, a list of staples; every session has an intent, one leaf
category (``truth["session_intent"]``: session id -> leaf slug), and its views and purchases are items of
that leaf (popular ones more often); an item often comes with its partner (the next item of its leaf), which
gives the item-to-item weights something to find. Frames have the columns ``synthetic.generate``'s have, so
``behavior.services.shop_frames_load`` stores them through the import path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from .synthetic import SyntheticData

FAVOURITE_SHARE = 0.8
PARTNER_SHARE = 0.4  # a bought item comes with its partner this often
ROOTS = ["Home", "Kitchen", "Garden", "Toys", "Stationery", "Fashion", "Food", "Sport"]


@dataclass(frozen=True)
class ShapeSpec:
    name: str = "plain"
    seed: int = 0
    customers: int = 1500
    products: int = 400
    leaves_per_root: int = 5
    days: int = 365
    end: date = date(2024, 12, 31)
    sessions_per_customer: float = 8.0
    buy_share: float = 0.5  # sessions that end in a purchase
    basket: tuple[int, int] = (1, 2)  # items per purchase, inclusive
    rebuy_share: float = 0.3  # items of a basket drawn from the customer's staples
    staples: int = 6
    no_repeat: bool = False  # a customer never buys an item twice
    recent_share: float = 1.0  # customers active in the last ``recent_days``; the rest stop before
    recent_days: int = 60


SHAPES = {
    "no_rebuy": ShapeSpec(name="no_rebuy", seed=1, customers=2000, products=600, rebuy_share=0.0, no_repeat=True),
    "grocery": ShapeSpec(name="grocery", seed=2, customers=1200, products=3000, leaves_per_root=10,
                         sessions_per_customer=14, buy_share=0.8, basket=(4, 10), rebuy_share=0.7, staples=14),
    "few_recent": ShapeSpec(name="few_recent", seed=3, customers=1500, products=400, recent_share=0.03),
    "years_ago": ShapeSpec(name="years_ago", seed=4, end=date(2019, 12, 31)),
}


def shape(name: str, **changes) -> ShapeSpec:
    return replace(SHAPES[name], **changes)


@dataclass
class _Catalogue:
    leaf_items: list[np.ndarray]  # product indexes of each leaf
    leaf_weights: list[np.ndarray]  # their popularity within the leaf (sums to 1)
    leaf_root: np.ndarray

    def draw(self, rng, leaf: int, count: int) -> np.ndarray:
        items = self.leaf_items[leaf]
        return items[rng.choice(len(items), size=count, p=self.leaf_weights[leaf])]

    def partner(self, item: int, leaf: int) -> int:
        items = self.leaf_items[leaf]
        position = int(np.searchsorted(items, item))
        return int(items[(position + 1) % len(items)])


def _catalogue(rng, spec: ShapeSpec) -> tuple[pd.DataFrame, pd.DataFrame, _Catalogue, list[str]]:
    leaves = len(ROOTS) * spec.leaves_per_root
    leaf_slugs = [f"{root.lower()}-{n}" for root in ROOTS for n in range(spec.leaves_per_root)]
    categories = pd.DataFrame(
        [{"slug": root.lower(), "name": root, "parent_slug": None} for root in ROOTS]
        + [{"slug": slug, "name": slug.title(), "parent_slug": slug.split("-")[0]} for slug in leaf_slugs])
    product_leaf = np.arange(spec.products) % leaves
    products = pd.DataFrame({
        "sku": [f"{spec.name[:3].upper()}{i:05d}" for i in range(spec.products)],
        "name": [f"{leaf_slugs[leaf]} item {i}" for i, leaf in enumerate(product_leaf)],
        "category_slug": [leaf_slugs[leaf] for leaf in product_leaf],
        "brand": [f"brand{leaf % 7}" for leaf in product_leaf],
        "price": np.round(np.exp(rng.normal(np.log(10.0), 0.5, spec.products)), 2).clip(0.5, None),
    })
    leaf_items = [np.flatnonzero(product_leaf == leaf) for leaf in range(leaves)]
    weights = []
    for items in leaf_items:
        raw = 1.0 / np.arange(1, len(items) + 1) ** 0.9
        weights.append(rng.permutation(raw) / raw.sum())
    return categories, products, _Catalogue(leaf_items, weights, np.arange(leaves) // spec.leaves_per_root), \
        leaf_slugs


def _session_days(rng, spec: ShapeSpec, count: int, recent: bool) -> np.ndarray:
    high = spec.days if recent else max(1, spec.days - spec.recent_days)
    return np.sort(rng.integers(0, high, count))


def generate_shape(spec: ShapeSpec) -> SyntheticData:
    rng = np.random.default_rng(spec.seed)
    categories, products, catalogue, leaf_slugs = _catalogue(rng, spec)
    start = pd.Timestamp(spec.end, tz="UTC") - pd.Timedelta(days=spec.days)
    leaves_of_root = [np.flatnonzero(catalogue.leaf_root == r) for r in range(len(ROOTS))]
    rows: list[tuple] = []  # (customer, product, kind code, seconds, session)
    intents: dict[str, str] = {}
    session_number = 0
    recent = rng.random(spec.customers) < spec.recent_share
    for customer in range(spec.customers):
        favourite = int(rng.integers(len(ROOTS)))
        staple_leaves = rng.choice(leaves_of_root[favourite], size=spec.staples)
        staples = np.array([catalogue.draw(rng, leaf, 1)[0] for leaf in staple_leaves])
        bought: set[int] = set()
        count = max(1, int(rng.poisson(spec.sessions_per_customer)))
        for day in _session_days(rng, spec, count, bool(recent[customer])):
            root = favourite if rng.random() < FAVOURITE_SHARE else int(rng.integers(len(ROOTS)))
            leaf = int(rng.choice(leaves_of_root[root]))
            session_number += 1
            session = f"S{spec.seed}-{session_number}"
            intents[session] = leaf_slugs[leaf]
            at = int(day) * 86400 + int(rng.integers(8 * 3600, 20 * 3600))
            step = 0
            for item in catalogue.draw(rng, leaf, int(rng.integers(1, 5))):
                rows.append((customer, int(item), 0, at + 60 * step, session))
                step += 1
            if rng.random() >= spec.buy_share:
                continue
            for item in _basket(rng, spec, catalogue, leaf, staples, bought):
                rows.append((customer, item, 1, at + 60 * step, session))
                rows.append((customer, item, 2, at + 60 * step + 30, session))
                step += 1
    return _frames(spec, categories, products, rows, start, intents, rng)


def _basket(rng, spec: ShapeSpec, catalogue: _Catalogue, leaf: int, staples: np.ndarray, bought: set[int]) -> list[int]:
    size = int(rng.integers(spec.basket[0], spec.basket[1] + 1))
    basket: list[int] = []
    for _ in range(size):
        item = (int(rng.choice(staples)) if rng.random() < spec.rebuy_share
                else int(catalogue.draw(rng, leaf, 1)[0]))
        basket.append(item)
        if rng.random() < PARTNER_SHARE:
            basket.append(catalogue.partner(item, leaf) if item in catalogue.leaf_items[leaf] else item)
    basket = list(dict.fromkeys(basket))
    if spec.no_repeat:
        basket = [item for item in basket if item not in bought]
    bought.update(basket)
    return basket


def _frames(spec: ShapeSpec, categories: pd.DataFrame, products: pd.DataFrame, rows: list[tuple],
            start: pd.Timestamp, intents: dict[str, str], rng) -> SyntheticData:
    customer, product, kind, seconds, session = (np.array(column) for column in zip(*rows))
    kinds = np.array(["view", "add_to_cart", "purchase"])[kind]
    external_ids = np.array([f"{spec.name[:3].upper()}C{i:05d}" for i in range(spec.customers)], dtype=object)
    is_purchase = kind == 2
    prices = products["price"].to_numpy()
    events = pd.DataFrame({
        "event_id": [f"{spec.name}-{i}" for i in range(len(kind))],
        "customer_external_id": external_ids[customer],
        "product_sku": products["sku"].to_numpy()[product],
        "kind": kinds,
        "occurred_at": start + pd.to_timedelta(seconds, unit="s"),
        "quantity": np.ones(len(kind), dtype=np.int32),
        "unit_price": np.where(is_purchase, prices[product], np.nan),
        "rating": pd.array([None] * len(kind), dtype="Int8"),
        "order_ref": np.where(is_purchase, session, ""),
        "session_id": session,
    }).sort_values("occurred_at", kind="stable").reset_index(drop=True)
    customers = pd.DataFrame({"external_id": external_ids,
                              "country": np.array(["United Kingdom", "France", "Germany"])[
                                  rng.integers(0, 3, spec.customers)]})
    return SyntheticData(categories=categories, products=products, customers=customers, events=events,
                         truth={"session_intent": intents})
