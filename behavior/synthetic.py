"""A seeded synthetic shop with planted structure (pure numpy/pandas: no Django import).

What is planted, so tests and benchmarks know the right answers:

* five customer segments that differ in recency, frequency and spend (``truth["segment"]``):
  Champions (recent, frequent, high spend), Loyal (frequent, fairly recent, medium spend),
  At risk (used to be frequent, nothing in the last 40 % of the period), Hibernating (one or two small
  orders in the first half), New (first purchase in the last 30 days, one or two orders);
* a category affinity: 85 % of a customer's sessions are in their favourite top-level category
  (``truth["favourite_category"]``, a root slug);
* daily demand = weekly multiplier (Mon..Sun, ``truth["weekly"]``) x (1 + amplitude x sin(2 pi doy / 365.25))
  x (1 + trend x day index): sessions are drawn over days with those weights.

Events come as sessions: 1-4 views in one category, then maybe an add-to-cart, a purchase (the
order), a review and, rarely, a return. Everything is vectorised, so 10 million events take seconds
and a few GB; string columns are pyarrow strings or categoricals to keep memory small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SEGMENTS = ["Champions", "Loyal", "At risk", "Hibernating", "New"]
SEGMENT_SHARE = np.array([0.15, 0.25, 0.20, 0.25, 0.15])
# Sessions per customer relative to the mean, purchase probability of a session, extra units per line.
SEGMENT_SESSIONS = np.array([3.0, 1.6, 1.2, 0.25, 0.2])
SEGMENT_BUY_PROB = np.array([0.6, 0.45, 0.45, 0.35, 0.5])
SEGMENT_EXTRA_UNITS = np.array([3.0, 1.0, 1.5, 0.0, 0.5])
# Where a segment's sessions fall, as fractions of the period [start, end).
SEGMENT_WINDOW = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 0.6], [0.0, 0.5], [0.0, 1.0]])
NEW_WINDOW_DAYS = 30
# The last purchase of every Champion / Loyal customer is at most this many days before the end.
RECENT_DAYS = {0: 14, 1: 45}
WEEKLY = [0.9, 0.85, 0.9, 0.95, 1.1, 1.2, 1.1]  # Mon..Sun
YEARLY_AMPLITUDE = 0.3
TREND_PER_DAY = 0.001
AFFINITY = 0.85

TREE = {
    "Home": ["Lighting", "Decor", "Textiles"],
    "Kitchen": ["Tableware", "Baking", "Storage"],
    "Garden": ["Plants", "Tools", "Outdoor living"],
    "Toys": ["Games", "Soft toys", "Crafts"],
    "Stationery": ["Cards", "Notebooks", "Wrapping"],
    "Fashion": ["Bags", "Jewellery", "Accessories"],
}
BRANDS = ["Acme", "Bloom", "Cedar", "Dune", "Ember", "Fable", "Grove", "Harbour"]
COUNTRIES = ["United Kingdom", "Germany", "France", "Ireland", "Spain", "Netherlands"]
COUNTRY_SHARE = [0.7, 0.08, 0.08, 0.06, 0.04, 0.04]


@dataclass
class SyntheticSpec:
    seed: int = 0
    customers: int = 1000
    products: int = 200
    days: int = 365
    events_per_customer: float = 30.0
    start: date = date(2024, 1, 1)
    anonymous_share: float = 0.0

    def __post_init__(self) -> None:
        if self.customers < 1 or self.products < len(TREE) or self.days < 60:
            raise ValueError(f"need customers >= 1, products >= {len(TREE)}, days >= 60")
        if self.events_per_customer <= 0 or not 0.0 <= self.anonymous_share < 1.0:
            raise ValueError("events_per_customer must be > 0 and anonymous_share in [0, 1)")


@dataclass
class SyntheticData:
    categories: pd.DataFrame
    products: pd.DataFrame
    customers: pd.DataFrame
    events: pd.DataFrame
    truth: dict = field(default_factory=dict)


def _prefixed(prefix: str, numbers: np.ndarray) -> pd.arrays.ArrowStringArray:
    """prefix + str(n) for millions of n, in Arrow (numpy's char functions are 20x slower)."""
    text = pa.array(numbers).cast(pa.string())
    return pd.arrays.ArrowStringArray(pc.binary_join_element_wise(prefix, text, ""))


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _categories() -> tuple[pd.DataFrame, list[str], np.ndarray]:
    rows, leaves, leaf_root = [], [], []
    for r, (root, children) in enumerate(TREE.items()):
        rows.append({"slug": _slug(root), "name": root, "parent_slug": None})
        for child in children:
            slug = f"{_slug(root)}-{_slug(child)}"
            rows.append({"slug": slug, "name": child, "parent_slug": _slug(root)})
            leaves.append(slug)
            leaf_root.append(r)
    return pd.DataFrame(rows), leaves, np.array(leaf_root)


def day_weights(spec: SyntheticSpec) -> np.ndarray:
    """Relative demand of each day of the period (the planted seasonality and trend)."""
    days = pd.date_range(spec.start, periods=spec.days, freq="D")
    weekly = np.asarray(WEEKLY)[days.dayofweek.to_numpy()]
    yearly = 1.0 + YEARLY_AMPLITUDE * np.sin(2 * np.pi * days.dayofyear.to_numpy() / 365.25)
    trend = 1.0 + TREND_PER_DAY * np.arange(spec.days)
    return weekly * yearly * trend


def _draw_days(rng, weights: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day per entry, in [lo, hi), drawn with the demand weights (inverse CDF, vectorised)."""
    cdf = np.concatenate([[0.0], np.cumsum(weights)])
    u = cdf[lo] + rng.random(len(lo)) * (cdf[hi] - cdf[lo])
    return np.clip(np.searchsorted(cdf, u, side="right") - 1, lo, hi - 1)


def generate(spec: SyntheticSpec) -> SyntheticData:
    rng = np.random.default_rng(spec.seed)
    categories, leaves, leaf_root = _categories()
    n_roots = len(TREE)

    # Products: spread evenly over the leaves, so every root has products.
    p = spec.products
    p_leaf = np.arange(p) % len(leaves)
    p_root = leaf_root[p_leaf]
    leaf_names = categories.set_index("slug").loc[leaves, "name"].tolist()
    price = np.round(np.exp(rng.normal(np.log(12.0), 0.6, p)), 2).clip(0.5, None)
    products = pd.DataFrame({
        "sku": [f"SYN{i:06d}" for i in range(p)],
        "name": [f"{leaf_names[leaf]} {i}" for i, leaf in enumerate(p_leaf)],
        "category_slug": [leaves[leaf] for leaf in p_leaf],
        "brand": np.asarray(BRANDS)[rng.integers(0, len(BRANDS), p)],
        "price": price,
    })
    by_root = [np.flatnonzero(p_root == r) for r in range(n_roots)]

    # Customers and their planted segment and favourite root.
    c = spec.customers
    seg = rng.choice(len(SEGMENTS), size=c, p=SEGMENT_SHARE)
    fav = rng.integers(0, n_roots, c)
    external_ids = np.array([f"SYNC{i:07d}" for i in range(c)], dtype=object)
    root_slugs = np.array([_slug(r) for r in TREE], dtype=object)

    # Sessions per customer: New and Hibernating have one or two; the others share the rest of the
    # events in proportion to SEGMENT_SESSIONS, so the mean is about events_per_customer.
    per_session = 2.5 + SEGMENT_BUY_PROB * 2.28 + (1 - SEGMENT_BUY_PROB) * 0.15  # views+cart+buy+review+return
    few = np.isin(seg, [3, 4])
    budget = max(0.0, spec.events_per_customer * c - float((1.5 * per_session[seg[few]]).sum()))
    weight = np.where(few, 0.0, SEGMENT_SESSIONS[seg])
    lam = budget * weight / max(float((weight * per_session[seg]).sum()), 1e-9)
    n_sess = np.maximum(1, rng.poisson(lam))
    n_sess[few] = rng.integers(1, 3, int(few.sum()))
    s_cust = np.repeat(np.arange(c), n_sess)
    s_seg = seg[s_cust]
    first_of_customer = np.concatenate([[0], np.cumsum(n_sess)[:-1]])
    is_first = np.zeros(len(s_cust), dtype=bool)
    is_first[first_of_customer] = True

    # Anonymous sessions (customer -1), spread over the whole period, any category.
    n_anon = int(round(len(s_cust) * spec.anonymous_share / (1.0 - spec.anonymous_share)))
    s_cust = np.concatenate([s_cust, np.full(n_anon, -1)])
    s_seg = np.concatenate([s_seg, np.full(n_anon, 1)])  # anonymous sessions behave like Loyal ones
    is_first = np.concatenate([is_first, np.zeros(n_anon, dtype=bool)])
    n = len(s_cust)

    # Session days: inside the segment's window, weighted by demand. New customers: the last 30 days.
    D = spec.days
    lo = (SEGMENT_WINDOW[s_seg, 0] * D).astype(np.int64)
    hi = np.maximum(lo + 1, (SEGMENT_WINDOW[s_seg, 1] * D).astype(np.int64))
    new = (s_seg == 4) & (s_cust >= 0)
    lo[new] = D - NEW_WINDOW_DAYS
    # Recency is planted: a Champion's / Loyal's first session (then forced to buy) is recent.
    for k, recent in RECENT_DAYS.items():
        mask = is_first & (s_seg == k) & (s_cust >= 0)
        lo[mask] = D - recent
    weights = day_weights(spec)
    s_day = _draw_days(rng, weights, lo, hi)

    # Session category: the favourite root with probability AFFINITY, else any root.
    s_root = rng.integers(0, n_roots, n)
    known = s_cust >= 0
    loyal_pick = known & (rng.random(n) < AFFINITY)
    s_root[loyal_pick] = fav[s_cust[loyal_pick]]

    # Funnel: views, cart, purchase, review, return.
    n_views = rng.integers(1, 5, n)
    buys = rng.random(n) < SEGMENT_BUY_PROB[s_seg]
    buys |= is_first & known & np.isin(s_seg, [0, 1, 3, 4])  # recency / existence is planted on purchases
    carts = buys | (rng.random(n) < 0.15)
    reviews = buys & (rng.random(n) < 0.25)
    returns = buys & (rng.random(n) < 0.03)
    # The product bought (and reviewed / returned) is one of the category's products.
    sizes = np.array([len(b) for b in by_root])
    pick = lambda roots: np.concatenate(by_root)[np.concatenate([[0], np.cumsum(sizes)[:-1]])[roots]  # noqa: E731
                                                 + (rng.random(len(roots)) * sizes[roots]).astype(np.int64)]
    s_product = pick(s_root)
    qty = 1 + rng.poisson(SEGMENT_EXTRA_UNITS[s_seg])

    # Expand sessions to events; seconds into the session give the order within it.
    parts = []  # (session index, kind code, step, product)
    view_sess = np.repeat(np.arange(n), n_views)
    view_step = np.arange(len(view_sess)) - np.repeat(np.cumsum(n_views) - n_views, n_views)
    view_product = pick(s_root[view_sess])
    last_view = np.cumsum(n_views) - 1
    view_product[last_view] = s_product  # the product bought was the last one viewed
    parts.append((view_sess, 0, view_step, view_product))
    for code, mask, step in ((1, carts, 4), (2, buys, 5), (3, reviews, 6), (4, returns, 7)):
        idx = np.flatnonzero(mask)
        parts.append((idx, code, np.full(len(idx), step), s_product[idx]))
    e_sess = np.concatenate([x[0] for x in parts])
    e_kind = np.concatenate([np.full(len(x[0]), x[1], dtype=np.int8) for x in parts])
    e_step = np.concatenate([x[2] for x in parts])
    e_product = np.concatenate([x[3] for x in parts])
    order = np.lexsort((e_step, e_sess))
    e_sess, e_kind, e_step, e_product = e_sess[order], e_kind[order], e_step[order], e_product[order]

    # Time: a session starts between 07:00 and 21:00 UTC (same shop-time day in London), steps 2 min apart;
    # reviews come 3 days later and returns 10 days later.
    s_start = (pd.Timestamp(spec.start, tz="UTC").value // 10**9
               + s_day * 86400 + rng.integers(7 * 3600, 21 * 3600, n))
    later = np.where(e_kind == 3, 3 * 86400, np.where(e_kind == 4, 10 * 86400, 0))
    e_ts = s_start[e_sess] + e_step * 120 + later
    e_cust = s_cust[e_sess]

    kinds = np.array(["view", "add_to_cart", "purchase", "review", "return"])
    is_sale = (e_kind == 2) | (e_kind == 4)
    unit_price = np.where(is_sale, price[e_product], np.nan)
    quantity = np.where((e_kind == 1) | is_sale, qty[e_sess], 1)
    # Ratings: higher for the favourite category.
    rating = np.where(e_kind == 3, np.clip(np.round(rng.normal(3.4, 1.0, len(e_kind))
                                                    + 0.8 * (s_root[e_sess] == fav[np.maximum(e_cust, 0)])), 1, 5),
                      np.nan)
    # Sort by time on the numeric arrays (cheap), then build the string columns once.
    by_time = np.argsort(e_ts, kind="stable")
    e_sess, e_kind, e_product, e_ts, e_cust = (a[by_time] for a in (e_sess, e_kind, e_product, e_ts, e_cust))
    is_sale, unit_price, quantity, rating = (a[by_time] for a in (is_sale, unit_price, quantity, rating))
    m = len(e_kind)
    no_rating = np.isnan(rating)
    events = pd.DataFrame({
        "event_id": _prefixed(f"syn{spec.seed}-", np.arange(m)),
        "customer_external_id": pd.Categorical.from_codes(e_cust, categories=external_ids),
        "product_sku": pd.Categorical.from_codes(e_product, categories=products.sku.to_numpy()),
        "kind": pd.Categorical.from_codes(e_kind.astype(np.int64), categories=kinds),
        "occurred_at": pd.to_datetime(e_ts, unit="s", utc=True),
        "quantity": quantity.astype(np.int32),
        "unit_price": unit_price,
        "rating": pd.arrays.IntegerArray(np.where(no_rating, 0, rating).astype(np.int8), no_rating),
        "order_ref": pd.arrays.ArrowStringArray(pc.if_else(pa.array(is_sale), _prefixed("O", e_sess)._pa_array, "")),
        "session_id": _prefixed("S", e_sess),
    })

    first_day = np.full(c, D, dtype=np.int64)
    np.minimum.at(first_day, s_cust[s_cust >= 0], s_day[s_cust >= 0])
    signed_up = pd.Timestamp(spec.start, tz="UTC") + pd.to_timedelta(first_day - rng.integers(0, 30, c), unit="D")
    customers = pd.DataFrame({
        "external_id": external_ids,
        "country": np.asarray(COUNTRIES)[rng.choice(len(COUNTRIES), size=c, p=COUNTRY_SHARE)],
        "signed_up_at": signed_up,
        "segment": np.asarray(SEGMENTS)[seg],
    })
    truth = {
        "segment": dict(zip(external_ids, customers.segment)),
        "favourite_category": dict(zip(external_ids, root_slugs[fav])),
        "weekly": list(WEEKLY),
        "yearly_amplitude": YEARLY_AMPLITUDE,
        "trend_per_day": TREND_PER_DAY,
    }
    return SyntheticData(categories=categories, products=products, customers=customers, events=events, truth=truth)
