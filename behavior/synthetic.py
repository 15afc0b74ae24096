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
EVENT_KINDS = np.array(["view", "add_to_cart", "purchase", "review", "return"])  # the codes 0..4 of _events

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


@dataclass
class _Catalogue:
    products: pd.DataFrame
    price: np.ndarray  # per product
    by_root: list[np.ndarray]  # product indexes of each root category

    def pick(self, rng, roots: np.ndarray) -> np.ndarray:
        """A product of each given root category, uniformly."""
        sizes = np.array([len(b) for b in self.by_root])
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        return np.concatenate(self.by_root)[first[roots] + (rng.random(len(roots)) * sizes[roots]).astype(np.int64)]


@dataclass
class _Sessions:
    """One entry per session; customer -1 is an anonymous session. The stages of ``generate`` fill the
    fields after ``is_first`` in turn."""

    customer: np.ndarray
    segment: np.ndarray
    is_first: np.ndarray  # the customer's first session
    day: np.ndarray = None
    root: np.ndarray = None  # root category of the session
    views: np.ndarray = None
    carts: np.ndarray = None
    buys: np.ndarray = None
    reviews: np.ndarray = None
    returns: np.ndarray = None
    product: np.ndarray = None  # the product carted, bought, reviewed or returned
    quantity: np.ndarray = None


def generate(spec: SyntheticSpec) -> SyntheticData:
    # The stages draw from one generator in a fixed order: reordering them changes every seed's shop.
    rng = np.random.default_rng(spec.seed)
    categories, leaves, leaf_root = _categories()
    catalogue = _products(rng, spec, categories, leaves, leaf_root)
    segment = rng.choice(len(SEGMENTS), size=spec.customers, p=SEGMENT_SHARE)
    favourite = rng.integers(0, len(TREE), spec.customers)
    external_ids = np.array([f"SYNC{i:07d}" for i in range(spec.customers)], dtype=object)
    sessions = _sessions(rng, spec, segment)
    sessions.day = _draw_days(rng, day_weights(spec), *_session_windows(spec, sessions))
    _choose_categories(rng, sessions, favourite)
    _walk_funnel(rng, sessions)
    sessions.product = catalogue.pick(rng, sessions.root)
    sessions.quantity = 1 + rng.poisson(SEGMENT_EXTRA_UNITS[sessions.segment])
    events = _events(rng, spec, sessions, catalogue, favourite, external_ids)
    customers = _customers(rng, spec, sessions, segment, external_ids)
    root_slugs = np.array([_slug(r) for r in TREE], dtype=object)
    truth = {
        "segment": dict(zip(external_ids, customers.segment)),
        "favourite_category": dict(zip(external_ids, root_slugs[favourite])),
        "weekly": list(WEEKLY),
        "yearly_amplitude": YEARLY_AMPLITUDE,
        "trend_per_day": TREND_PER_DAY,
    }
    return SyntheticData(categories=categories, products=catalogue.products, customers=customers, events=events,
                         truth=truth)


def _products(rng, spec: SyntheticSpec, categories: pd.DataFrame, leaves: list[str],
              leaf_root: np.ndarray) -> _Catalogue:
    """Products spread evenly over the leaves, so every root has products; log-normal prices."""
    count = spec.products
    product_leaf = np.arange(count) % len(leaves)
    product_root = leaf_root[product_leaf]
    leaf_names = categories.set_index("slug").loc[leaves, "name"].tolist()
    price = np.round(np.exp(rng.normal(np.log(12.0), 0.6, count)), 2).clip(0.5, None)
    products = pd.DataFrame({
        "sku": [f"SYN{i:06d}" for i in range(count)],
        "name": [f"{leaf_names[leaf]} {i}" for i, leaf in enumerate(product_leaf)],
        "category_slug": [leaves[leaf] for leaf in product_leaf],
        "brand": np.asarray(BRANDS)[rng.integers(0, len(BRANDS), count)],
        "price": price,
    })
    return _Catalogue(products, price, [np.flatnonzero(product_root == r) for r in range(len(TREE))])


def _sessions(rng, spec: SyntheticSpec, segment: np.ndarray) -> _Sessions:
    """How many sessions each customer has, then the anonymous sessions.

    New and Hibernating customers have one or two; the others share the rest of the events in proportion
    to SEGMENT_SESSIONS, so the mean is about events_per_customer."""
    per_session = 2.5 + SEGMENT_BUY_PROB * 2.28 + (1 - SEGMENT_BUY_PROB) * 0.15  # views+cart+buy+review+return
    few = np.isin(segment, [3, 4])
    budget = max(0.0, spec.events_per_customer * spec.customers - float((1.5 * per_session[segment[few]]).sum()))
    weight = np.where(few, 0.0, SEGMENT_SESSIONS[segment])
    expected = budget * weight / max(float((weight * per_session[segment]).sum()), 1e-9)
    count = np.maximum(1, rng.poisson(expected))
    count[few] = rng.integers(1, 3, int(few.sum()))
    customer = np.repeat(np.arange(spec.customers), count)
    is_first = np.zeros(len(customer), dtype=bool)
    is_first[np.concatenate([[0], np.cumsum(count)[:-1]])] = True

    # Anonymous sessions (customer -1), spread over the whole period, any category.
    anonymous = int(round(len(customer) * spec.anonymous_share / (1.0 - spec.anonymous_share)))
    return _Sessions(
        customer=np.concatenate([customer, np.full(anonymous, -1)]),
        segment=np.concatenate([segment[customer], np.full(anonymous, 1)]),  # anonymous ones behave like Loyal
        is_first=np.concatenate([is_first, np.zeros(anonymous, dtype=bool)]),
    )


def _session_windows(spec: SyntheticSpec, sessions: _Sessions) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) day of each session: the segment's window; New customers: the last 30 days."""
    days = spec.days
    lo = (SEGMENT_WINDOW[sessions.segment, 0] * days).astype(np.int64)
    hi = np.maximum(lo + 1, (SEGMENT_WINDOW[sessions.segment, 1] * days).astype(np.int64))
    known = sessions.customer >= 0
    lo[(sessions.segment == 4) & known] = days - NEW_WINDOW_DAYS
    # Recency is planted: a Champion's / Loyal's first session (then forced to buy) is recent.
    for segment, recent in RECENT_DAYS.items():
        lo[sessions.is_first & (sessions.segment == segment) & known] = days - recent
    return lo, hi


def _choose_categories(rng, sessions: _Sessions, favourite: np.ndarray) -> None:
    """The favourite root with probability AFFINITY, else any root."""
    count = len(sessions.customer)
    sessions.root = rng.integers(0, len(TREE), count)
    known = sessions.customer >= 0
    loyal_pick = known & (rng.random(count) < AFFINITY)
    sessions.root[loyal_pick] = favourite[sessions.customer[loyal_pick]]


def _walk_funnel(rng, sessions: _Sessions) -> None:
    """Views, cart, purchase, review, return."""
    count = len(sessions.customer)
    sessions.views = rng.integers(1, 5, count)
    buys = rng.random(count) < SEGMENT_BUY_PROB[sessions.segment]
    # recency / existence is planted on purchases
    buys |= sessions.is_first & (sessions.customer >= 0) & np.isin(sessions.segment, [0, 1, 3, 4])
    sessions.buys = buys
    sessions.carts = buys | (rng.random(count) < 0.15)
    sessions.reviews = buys & (rng.random(count) < 0.25)
    sessions.returns = buys & (rng.random(count) < 0.03)


def _events(rng, spec: SyntheticSpec, sessions: _Sessions, catalogue: _Catalogue, favourite: np.ndarray,
            external_ids: np.ndarray) -> pd.DataFrame:
    """Sessions expanded to events (kind codes 0..4 as in ``kinds`` below), in time order."""
    count = len(sessions.customer)
    # (session index, kind code, step, product); the step (seconds into the session) orders a session's events.
    view_session = np.repeat(np.arange(count), sessions.views)
    view_step = np.arange(len(view_session)) - np.repeat(np.cumsum(sessions.views) - sessions.views, sessions.views)
    view_product = catalogue.pick(rng, sessions.root[view_session])
    view_product[np.cumsum(sessions.views) - 1] = sessions.product  # the product bought was the last one viewed
    parts = [(view_session, 0, view_step, view_product)]
    for code, mask, step in ((1, sessions.carts, 4), (2, sessions.buys, 5), (3, sessions.reviews, 6),
                             (4, sessions.returns, 7)):
        index = np.flatnonzero(mask)
        parts.append((index, code, np.full(len(index), step), sessions.product[index]))
    session = np.concatenate([x[0] for x in parts])
    kind = np.concatenate([np.full(len(x[0]), x[1], dtype=np.int8) for x in parts])
    step = np.concatenate([x[2] for x in parts])
    product = np.concatenate([x[3] for x in parts])
    order = np.lexsort((step, session))
    session, kind, step, product = session[order], kind[order], step[order], product[order]

    # Time: a session starts between 07:00 and 21:00 UTC (same shop-time day in London), steps 2 min apart;
    # reviews come 3 days later and returns 10 days later.
    session_start = (pd.Timestamp(spec.start, tz="UTC").value // 10**9
                     + sessions.day * 86400 + rng.integers(7 * 3600, 21 * 3600, count))
    later = np.where(kind == 3, 3 * 86400, np.where(kind == 4, 10 * 86400, 0))
    seconds = session_start[session] + step * 120 + later
    customer = sessions.customer[session]

    is_sale = (kind == 2) | (kind == 4)
    unit_price = np.where(is_sale, catalogue.price[product], np.nan)
    quantity = np.where((kind == 1) | is_sale, sessions.quantity[session], 1)
    # Ratings: higher for the favourite category.
    in_favourite = sessions.root[session] == favourite[np.maximum(customer, 0)]
    rating = np.where(kind == 3, np.clip(np.round(rng.normal(3.4, 1.0, len(kind)) + 0.8 * in_favourite), 1, 5),
                      np.nan)
    # Sort by time on the numeric arrays (cheap), then build the string columns once.
    by_time = np.argsort(seconds, kind="stable")
    session, kind, product, seconds, customer = (a[by_time] for a in (session, kind, product, seconds, customer))
    is_sale, unit_price, quantity, rating = (a[by_time] for a in (is_sale, unit_price, quantity, rating))
    no_rating = np.isnan(rating)
    return pd.DataFrame({
        "event_id": _prefixed(f"syn{spec.seed}-", np.arange(len(kind))),
        "customer_external_id": pd.Categorical.from_codes(customer, categories=external_ids),
        "product_sku": pd.Categorical.from_codes(product, categories=catalogue.products.sku.to_numpy()),
        "kind": pd.Categorical.from_codes(kind.astype(np.int64), categories=EVENT_KINDS),
        "occurred_at": pd.to_datetime(seconds, unit="s", utc=True),
        "quantity": quantity.astype(np.int32),
        "unit_price": unit_price,
        "rating": pd.arrays.IntegerArray(np.where(no_rating, 0, rating).astype(np.int8), no_rating),
        "order_ref": pd.arrays.ArrowStringArray(pc.if_else(pa.array(is_sale), _prefixed("O", session)._pa_array, "")),
        "session_id": _prefixed("S", session),
    })


def _customers(rng, spec: SyntheticSpec, sessions: _Sessions, segment: np.ndarray,
               external_ids: np.ndarray) -> pd.DataFrame:
    """Signed up up to 30 days before the first session; countries drawn with COUNTRY_SHARE."""
    first_day = np.full(spec.customers, spec.days, dtype=np.int64)
    known = sessions.customer >= 0
    np.minimum.at(first_day, sessions.customer[known], sessions.day[known])
    signed_up = (pd.Timestamp(spec.start, tz="UTC")
                 + pd.to_timedelta(first_day - rng.integers(0, 30, spec.customers), unit="D"))
    return pd.DataFrame({
        "external_id": external_ids,
        "country": np.asarray(COUNTRIES)[rng.choice(len(COUNTRIES), size=spec.customers, p=COUNTRY_SHARE)],
        "signed_up_at": signed_up,
        "segment": np.asarray(SEGMENTS)[segment],
    })
