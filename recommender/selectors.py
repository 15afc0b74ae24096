"""Reads: the training data as frames, versions, and the served recommendations."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from django.db.models import Count

from behavior.models import Customer, Event, EventKind
from behavior.selectors import customer_event_arrays, session_events, shop_clock, shop_now
from catalog.models import Product
from catalog.selectors import category_ancestor_ids, category_descendant_ids

from . import engine, serving_sql
from .models import ModelVersion
from .serving import LoadedModel, artifact_load, loaded_model

MAX_FIRST = 100
# the session window: events of the last this many minutes (by the shop clock) make up the current session
DEFAULT_SESSION_MINUTES = 30
MAX_SESSION_MINUTES = 24 * 60
# Extra candidates fetched so that products deactivated since training can be skipped.
_SPARE = 10


# --- training data --------------------------------------------------------------------------------


def training_frames(*, kinds: list[str]) -> engine.Frames:
    """Events of known customers (the given kinds), their customers and the whole catalogue, as frames."""
    read = customer_event_arrays(kinds=kinds)
    events = pd.DataFrame({
        "user_id": read["customer_id"], "item_id": read["product_id"], "kind": read["kind"],
        "occurred_at": pd.to_datetime(read["occurred_us"], unit="us", utc=True), "quantity": read["quantity"],
    })
    user_ids = events["user_id"].unique().tolist() if not events.empty else []
    users = pd.DataFrame.from_records(
        Customer.objects.filter(pk__in=user_ids).values_list("id", "country", "attributes").iterator(chunk_size=20_000)
        if len(user_ids) < 30_000 else
        Customer.objects.values_list("id", "country", "attributes").iterator(chunk_size=20_000),
        columns=["user_id", "country", "attributes"],
    )
    products = list(Product.objects.values_list("id", "category_id", "brand", "price", "name", "description"))
    ancestors = {c: category_ancestor_ids(category_id=c) for c in {p[1] for p in products if p[1] is not None}}
    items = pd.DataFrame({
        "item_id": [p[0] for p in products],
        "category_ids": [ancestors.get(p[1], []) for p in products],
        "brand": [p[2] for p in products],
        "price": [float(p[3]) for p in products],
        "text": [f"{p[4]} {p[5]}" for p in products],
    })
    return engine.Frames(events=events, users=users, items=items)


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


# --- serving --------------------------------------------------------------------------------------


class Strategy(enum.Enum):
    PERSONALIZED = "PERSONALIZED"  # the customer's own embedding (blended with their history for repeats)
    COLD_START_FEATURES = "COLD_START_FEATURES"  # a customer the model has not seen: from country/attributes
    POPULAR = "POPULAR"  # anonymous, unknown, or nothing to go on: popular items of the recent window
    SESSION = "SESSION"  # from the items of the visitor's current session (and their own model, if known)


@dataclass
class Recommendation:
    product: Product
    score: float


@dataclass
class Recommendations:
    strategy: Strategy
    model_version_id: int | None
    items: list[Recommendation]


@dataclass
class _Visitor:
    pk: int
    country: str
    attributes: dict
    bought: np.ndarray  # product ids of their purchases (one per purchase event)
    age_days: np.ndarray  # how long ago each was


def _visitor(external_id: str) -> _Visitor | None:
    """The customer and their purchases in one statement (a LEFT JOIN limited to purchase events)."""
    found = serving_sql.customer_with_purchases(external_id)
    if found is None:
        return None
    (pk, country, attributes), purchases, latest = found
    now = shop_clock(latest).timestamp()  # ages as training measured them: from the data's end
    return _Visitor(
        pk=pk, country=country or "", attributes=attributes if isinstance(attributes, dict) else {},
        bought=np.fromiter((r[0] for r in purchases), dtype=np.int64, count=len(purchases)),
        age_days=np.fromiter(((now - r[1].timestamp()) / 86400.0 for r in purchases), dtype=np.float64,
                             count=len(purchases)),
    )


def _products_in_order(ids: list[int], scores: list[float], first: int) -> list[Recommendation]:
    """The first ``first`` of ``ids`` that are active products now, in that order, with their scores.

    Rows are read at request time (never cached), so a price, name or deactivation is seen at once.
    The ``first`` best candidates are read first; the spare ones only when some of those are gone.
    """
    found = serving_sql.active_products(ids[:first])
    if len(found) < min(first, len(ids)):
        found.update(serving_sql.active_products(ids[first:]))
    out = []
    for pk, score in zip(ids, scores):
        product = found.get(pk)
        if product is not None:
            out.append(Recommendation(product=product, score=float(score)))
            if len(out) == first:
                break
    return out


_popular_cache: dict[tuple, tuple[float, list[tuple[int, float]]]] = {}


def popular_products(*, days: int = 30, category_id: int | None = None, first: int = 10) -> list[Recommendation]:
    """Products bought by the most distinct customers in the last ``days`` by the shop clock
    (``behavior.selectors.shop_now``).

    Used when no model is active; cached for a minute per (window, category).
    """
    key = (days, category_id, first)
    hit = _popular_cache.get(key)
    if hit and time.monotonic() - hit[0] < 60:
        ranked = hit[1]
    else:
        now = shop_now()
        purchases = Event.objects.filter(kind=EventKind.PURCHASE, product__is_active=True,
                                         occurred_at__gte=now - timedelta(days=days), occurred_at__lte=now)
        if category_id is not None:
            purchases = purchases.filter(product__category_id__in=category_descendant_ids(category_ids=[category_id]))
        ranked = [(row["product_id"], float(row["n"])) for row in
                  purchases.values("product_id").annotate(n=Count("customer_id", distinct=True), v=Count("id"))
                  .order_by("-n", "-v", "product_id")[: first + _SPARE]]
        _popular_cache[key] = (time.monotonic(), ranked)
    return _products_in_order([product_id for product_id, _ in ranked], [buyers for _, buyers in ranked], first)


def _allowed_mask(model: LoadedModel, category_id: int | None) -> np.ndarray | None:
    """Items in the category or below it: the tree is read on every request (one small statement),
    the mask is computed once per (version, tree, category)."""
    if category_id is None:
        return None
    return model.category_mask(category_id, serving_sql.category_tree())


def _model_scores(model: LoadedModel, customer: _Visitor | None) -> tuple[Strategy, np.ndarray]:
    """Which strategy answers, and its score of every item: the customer's own vector if the model knows them,
    else one built from their country and attributes, else the recent window's popularity."""
    if customer is not None:
        row = engine.index_of(model.user_ids, [customer.pk])[0]
        if row >= 0:
            return Strategy.PERSONALIZED, engine.model_scores(model.item_vectors, model.item_bias,
                                                              model.user_vectors[row])
        vector = engine.feature_vector(model.user_feature_index, model.user_feature_vectors,
                                       engine.user_feature_names(customer.country, customer.attributes))
        if vector is not None:
            return Strategy.COLD_START_FEATURES, engine.model_scores(model.item_vectors, model.item_bias, vector)
    return Strategy.POPULAR, model.popular_recent.copy()


def _session_columns(model: LoadedModel, session_id: str, minutes: float) -> tuple[np.ndarray, np.ndarray,
                                                                                 np.ndarray] | None:
    """(item columns, weights, bought columns) of the session's recent events on items the model knows; None
    when it has none (an unknown session, an old one, or only new products)."""
    rows = session_events(session_id=session_id, minutes=minutes)
    if not rows:
        return None
    columns = engine.index_of(model.item_ids, np.array([r[0] for r in rows], dtype=np.int64))
    latest = rows[0][2]
    ages = np.array([(latest - at).total_seconds() / 60.0 for _, _, at in rows])
    weights = engine.session_event_weights([r[1] for r in rows], ages, minutes)
    known = (columns >= 0) & (weights > 0)
    if not known.any():
        return None
    bought = columns[known & np.array([r[1] == EventKind.PURCHASE for r in rows])]
    return columns[known], weights[known], bought


def recommendations_for(
    *, customer_external_id: str | None, first: int = 10, exclude_purchased: bool = True,
    category_id: int | None = None, session_id: str | None = None,
    session_minutes: float = DEFAULT_SESSION_MINUTES,
) -> Recommendations:
    """The served ranking for one visitor; which strategy answered is part of the result.

    exclude_purchased=True is the discovery question (never an item the customer bought; for a known
    customer, the model's score blended with the item-to-item term of what they bought);
    False is the next basket: the model's standardised score plus the tuned weight times the
    customer's own (age-decayed) purchase history, so what they re-buy comes back.
    With a ``session_id`` whose last ``session_minutes`` hold events, the answer is the SESSION ranking
    (``engine.session``) -- plus the customer's own model scores when the model knows them -- read straight
    from the events table, so an event counts from the next request after it is stored. An unknown customer
    or session gets the cold answer, never an error.
    The maths is ``engine.ranking``'s; this function reads the customer, the model and the products.
    """
    first = max(1, min(int(first), MAX_FIRST))
    model = loaded_model()
    customer = _visitor(customer_external_id) if customer_external_id else None
    if model is None:  # nothing trained yet (or its file is unreadable)
        return Recommendations(Strategy.POPULAR, None, _exclude_then_popular(customer, exclude_purchased,
                                                                             category_id, first))
    strategy, scores = _model_scores(model, customer)
    scale, shift = 1.0, 0.0  # the returned scores are ``ranking value * scale + shift``
    session = _session_columns(model, session_id, session_minutes) if session_id else None
    if session is not None:
        strategy, scores = Strategy.SESSION, _session_ranking(model, session, customer, strategy, scores,
                                                               exclude_purchased)
    elif customer is not None:
        columns = engine.index_of(model.item_ids, customer.bought)
        known = columns >= 0
        bought = columns[known]
        if exclude_purchased:
            if strategy is Strategy.PERSONALIZED and model.discovery_beta and known.any():
                scale, shift = engine.discovery_in_place(scores, engine.item_item_term(model.item_item, bought),
                                                         model.discovery_beta)
            engine.exclude(scores, bought)
        elif known.any():
            scores = engine.next_basket_scores(
                scores, bought, customer.age_days[known], blend_alpha=model.blend_alpha,
                history_half_life_days=model.history_half_life_days, trend=model.trend,
                trend_weight=model.trend_weight)
    scores = engine.restrict(scores, _allowed_mask(model, category_id))
    best, values = engine.best_items(scores, first + _SPARE, scale=scale, shift=shift)
    items = _products_in_order(model.item_ids[best].tolist(), values.tolist(), first)
    return Recommendations(strategy, model.version_id, items)


def _session_ranking(model: LoadedModel, session: tuple[np.ndarray, np.ndarray, np.ndarray],
                     customer: _Visitor | None, strategy: Strategy, scores: np.ndarray,
                     exclude_purchased: bool) -> np.ndarray:
    columns, weights, bought_in_session = session
    ranking = engine.session_scores(model.item_item, model.item_unit, columns, weights)
    if strategy is not Strategy.POPULAR:  # the model knows the customer (or their features)
        ranking = engine.with_customer(ranking, scores)
    engine.exclude(ranking, bought_in_session)
    if customer is not None and exclude_purchased:
        bought = engine.index_of(model.item_ids, customer.bought)
        engine.exclude(ranking, bought[bought >= 0])
    return ranking


def _exclude_then_popular(customer: _Visitor | None, exclude_purchased: bool, category_id: int | None,
                          first: int) -> list[Recommendation]:
    if customer is None or not exclude_purchased:
        return popular_products(category_id=category_id, first=first)
    bought = set(customer.bought.tolist())
    candidates = popular_products(category_id=category_id, first=first + len(bought))
    return [r for r in candidates if r.product.pk not in bought][:first]


def similar_products(*, sku: str, first: int = 10) -> list[Recommendation]:
    """Products whose item embeddings are closest (cosine) to the given one's.

    A product the model has not seen (added since training) is placed by its features.
    """
    first = max(1, min(int(first), MAX_FIRST))
    model = loaded_model()
    product = serving_sql.product_by_sku(sku) if model is not None else None
    if model is None or product is None:
        return []
    pk, category_id, brand, price = product
    column = engine.index_of(model.item_ids, [pk])[0]
    if column >= 0:
        query = model.item_unit[column]
    else:
        ancestors = category_ancestor_ids(category_id=category_id) if category_id else []
        band = engine.price_bands(np.array([float(price)]), model.price_edges)[0]
        vector = engine.feature_vector(model.item_feature_index, model.item_feature_vectors,
                                       engine.item_feature_names(ancestors, brand, band, []))
        if vector is None:
            return []
        query = engine.unit_vector(vector)
    scores = engine.score_items(model.item_unit, query)
    if column >= 0:
        engine.exclude(scores, np.array([column]))
    best, values = engine.best_items(scores, first + _SPARE)
    return _products_in_order(model.item_ids[best].tolist(), values.tolist(), first)


def customer_versions(*, customer_id: int) -> list[int]:
    """The versions whose artifact holds this customer's embedding (for a customer's data export)."""
    found = []
    for version in ModelVersion.objects.exclude(artifact="").only("id", "artifact").order_by("id"):
        try:
            arrays = artifact_load(version.artifact)
        except (OSError, KeyError, ValueError):
            continue
        if engine.without_users(arrays, [customer_id]) is not None:
            found.append(version.pk)
    return found
