"""The training data as matrices: the time split, the validation users, features, and every matrix the
fits, the choices and the evaluation read (``Prepared``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..params import TrainParams, kind_weights
from .blend import HISTORY_HALF_LIVES, TREND_HALF_LIFE_DAYS, history_weights, trend
from .baselines import popularity
from .gate import repeat_rate
from .features import (
    description_tokens, feature_matrix, index_of, interaction_matrix, interaction_weights, item_feature_names,
    price_band_edges, price_bands, user_feature_names,
)
from .windows import WindowChoice, choose_windows

_NANOSECONDS_PER_DAY = 86_400e9


@dataclass
class Frames:
    """The training data as plain frames (the service reads them from the database).

    events: user_id, item_id, kind, occurred_at (UTC), quantity; users: user_id, country, attributes (dict);
    items: item_id, category_ids (the category first, then its ancestors; possibly empty), brand, price, text.
    """

    events: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame


@dataclass
class TimeSplit:
    """Rows of an event frame before ``fit_end`` (model training), up to ``test_start`` (history), and after."""

    fit_end: pd.Timestamp
    test_start: pd.Timestamp
    end: pd.Timestamp


def time_split(occurred_at: pd.Series, *, test_days: int, validation_days: int) -> TimeSplit:
    end = occurred_at.max()
    test_start = end - pd.Timedelta(days=test_days)
    return TimeSplit(fit_end=test_start - pd.Timedelta(days=validation_days), test_start=test_start, end=end)


def holdout_truth(
    users: np.ndarray, items: np.ndarray, shape: tuple[int, int], *, known: sp.csr_matrix, discovery: bool,
    eligible_users: np.ndarray,
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Held-out purchases as a truth matrix and the users to evaluate (eligible, with at least one).

    For discovery, pairs the user had bought before (in ``known``) are removed from the truth.
    """
    truth = interaction_matrix(users, items, np.ones(len(users)), shape)
    truth.data[:] = 1
    if discovery:
        truth = truth - truth.multiply(known > 0)
        truth.eliminate_zeros()
    has_some = np.diff(truth.indptr) > 0
    eligible = np.zeros(shape[0], dtype=bool)
    eligible[eligible_users] = True
    return np.flatnonzero(has_some & eligible), truth.tocsr()


@dataclass
class Prepared:
    """Matrices and features for one run; the bench evaluates other models on exactly these.

    "Before validation" is what is known when the validation users are judged (the evaluated model's
    training rows), "before test" everything before the test window."""

    split: TimeSplit
    windows: WindowChoice  # how the test and validation windows were sized
    repeat_rate: float  # the share of purchases before the test window that repeat a customer's item
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_category: np.ndarray
    price_edges: np.ndarray
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    user_vocabulary: list[str]
    item_vocabulary: list[str]
    fit_interactions: sp.csr_matrix  # weighted interactions the evaluated model is fitted on
    pre_test_interactions: sp.csr_matrix  # everything before the test window (what other models may use)
    all_interactions: sp.csr_matrix  # everything (the served model's refit)
    purchases_before_validation: sp.csr_matrix  # purchase counts
    purchases_before_test: sp.csr_matrix
    all_purchases: sp.csr_matrix  # every purchase (the served item-to-item weights)
    # age-decayed purchases per history half-life (the next-basket blend's own history)
    decayed_purchases_before_validation: dict[float, sp.csr_matrix]
    decayed_purchases_before_test: dict[float, sp.csr_matrix]
    validation_users: np.ndarray  # discovery: users with a purchase of an item new to them
    validation_truth: sp.csr_matrix
    validation_next_basket_users: np.ndarray  # next basket: users with any purchase
    validation_next_basket_truth: sp.csr_matrix
    test_users: np.ndarray
    test_truth: sp.csr_matrix
    test_next_basket_users: np.ndarray
    test_next_basket_truth: sp.csr_matrix
    popular_recent: np.ndarray
    # everybody's recent buying per item (0..1) as known at validation / test time / the end of the data
    trend_before_validation: np.ndarray
    trend_before_test: np.ndarray
    trend_at_end: np.ndarray
    n_events: int

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


def _nanoseconds(moment: pd.Timestamp) -> int:
    return int(pd.Timestamp(moment).as_unit("ns").value)


class _EventArrays:
    """The events of known items as plain arrays (user row, item column, time, kind weight, purchase flag):
    every matrix is built from a boolean mask over them."""

    def __init__(self, events: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray, params: TrainParams):
        known = np.isin(events["item_id"].to_numpy(dtype=np.int64), item_ids)
        self.shape = (len(user_ids), len(item_ids))
        self.user_rows = index_of(user_ids, events["user_id"].to_numpy(dtype=np.int64)[known])
        self.item_columns = index_of(item_ids, events["item_id"].to_numpy(dtype=np.int64)[known])
        self.times = pd.DatetimeIndex(events["occurred_at"]).as_unit("ns").asi8[known]
        kinds = events["kind"].to_numpy()[known]
        self.kind_weights = interaction_weights(kinds, kind_weights=kind_weights(params))
        self.is_purchase = kinds == "purchase"
        self.half_life_days = params.half_life_days
        self.everything = np.ones(len(self.times), dtype=bool)

    def before(self, moment: pd.Timestamp) -> np.ndarray:
        return self.times < _nanoseconds(moment)

    def age_days(self, mask: np.ndarray, as_of: pd.Timestamp) -> np.ndarray:
        return (_nanoseconds(as_of) - self.times[mask]) / _NANOSECONDS_PER_DAY

    def weighted(self, mask: np.ndarray, as_of: pd.Timestamp) -> sp.csr_matrix:
        """The interactions of the masked events: kind weights, decayed with age as of ``as_of``."""
        weights = self.kind_weights[mask]
        if self.half_life_days:
            weights = weights * history_weights(self.age_days(mask, as_of), self.half_life_days)
        return interaction_matrix(self.user_rows[mask], self.item_columns[mask], weights, self.shape)

    def purchases(self, mask: np.ndarray, as_of: pd.Timestamp | None = None, half_life: float = 0.0) -> sp.csr_matrix:
        """Purchase counts of the masked events; with ``as_of``, each decayed by its age (``half_life``)."""
        mask = mask & self.is_purchase
        values = (np.ones(int(mask.sum())) if as_of is None
                  else history_weights(self.age_days(mask, as_of), half_life))
        return interaction_matrix(self.user_rows[mask], self.item_columns[mask], values, self.shape)

    def truth(self, mask: np.ndarray, known: sp.csr_matrix, *, discovery: bool,
              eligible: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
        purchased = mask & self.is_purchase
        return holdout_truth(self.user_rows[purchased], self.item_columns[purchased], self.shape, known=known,
                             discovery=discovery, eligible_users=eligible)


@dataclass
class _Windows:
    """Masks over the events: the evaluated model's training rows, the validation users' held-out rows, the
    test window, and everything before it."""

    fit: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    pre_test: np.ndarray
    validation_user_rows: np.ndarray


def _windows(events: _EventArrays, split: TimeSplit, params: TrainParams) -> _Windows:
    """A random ``validation_share`` of the customers who bought in the validation days are held out there."""
    pre_test = events.before(split.test_start)
    tail = pre_test & ~events.before(split.fit_end)
    tail_buyers = np.unique(events.user_rows[tail & events.is_purchase])
    random = np.random.default_rng(params.seed)
    validation_user_rows = random.choice(
        tail_buyers, size=int(round(params.validation_share * len(tail_buyers))), replace=False,
    ) if len(tail_buyers) else tail_buyers
    held = tail & np.isin(events.user_rows, validation_user_rows)
    windows = _Windows(fit=pre_test & ~held, validation=held, test=~pre_test, pre_test=pre_test,
                       validation_user_rows=validation_user_rows)
    if not windows.fit.any() or not windows.test.any():
        raise ValueError("the data window is too short for the validation and test windows")
    return windows


@dataclass
class _Features:
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    user_vocabulary: list[str]
    item_vocabulary: list[str]
    price_edges: np.ndarray
    item_category: np.ndarray


def _features(items: pd.DataFrame, users: pd.DataFrame, identity_share: float) -> _Features:
    """Items by category (and ancestors), brand, price band and description words; users by country and
    attributes; each with its own identity column."""
    prices = items["price"].to_numpy(dtype=np.float64)
    edges = price_band_edges(prices)
    tokens = description_tokens(items["text"].fillna("").tolist())
    item_names = [item_feature_names(list(categories or []), brand or "", band, words)
                  for categories, brand, band, words in zip(items["category_ids"], items["brand"],
                                                            price_bands(prices, edges), tokens)]
    user_names = [user_feature_names(country if isinstance(country, str) else "",
                                     attributes if isinstance(attributes, dict) else None)
                  for country, attributes in zip(users["country"], users["attributes"])]
    item_features, item_vocabulary = feature_matrix(item_names, identity_share=identity_share)
    user_features, user_vocabulary = feature_matrix(user_names, identity_share=identity_share)
    return _Features(
        user_features=user_features, item_features=item_features, user_vocabulary=user_vocabulary,
        item_vocabulary=item_vocabulary, price_edges=np.asarray(edges, dtype=np.float64),
        item_category=np.array([c[0] if len(c or []) else -1 for c in items["category_ids"]], dtype=np.int64),
    )


def prepare(frames: Frames, params: TrainParams) -> Prepared:
    """Id maps, features, and the time split's matrices.

    The test window is the last ``test_days`` (by default sized from the data: ``windows.choose_windows``);
    its users must have been seen in training. Validation
    (early stopping, the blend weight) holds out the ``validation_days`` before the test window of a
    random ``validation_share`` of users only: everyone else's data up to the test window trains the
    model, so the evaluated model is as fresh as the baselines it is compared with.
    """
    if frames.events.empty:
        raise ValueError("no events with a customer to learn from")
    user_ids = np.unique(frames.events["user_id"].to_numpy(dtype=np.int64))
    item_ids = np.unique(frames.items["item_id"].to_numpy(dtype=np.int64))
    events = _EventArrays(frames.events, user_ids, item_ids, params)
    if not len(events.times):
        raise ValueError("no events of known products to learn from")
    window_choice = choose_windows(events.user_rows, events.times, events.is_purchase,
                                   validation_share=params.validation_share, test_days=params.test_days,
                                   validation_days=params.validation_days)
    split = time_split(frames.events["occurred_at"], test_days=window_choice.test_days,
                       validation_days=window_choice.validation_days)
    windows = _windows(events, split, params)
    features = _features(frames.items.set_index("item_id").loc[item_ids],
                         frames.users.set_index("user_id").reindex(user_ids), params.identity_share)

    fit_interactions = events.weighted(windows.fit, split.test_start)
    before_validation, before_test = events.purchases(windows.fit), events.purchases(windows.pre_test)
    seen_in_fit = np.flatnonzero(np.diff(fit_interactions.indptr) > 0)
    eligible_validation = np.intersect1d(windows.validation_user_rows,
                                         np.flatnonzero(np.diff(before_validation.indptr) > 0))
    validation_users, validation_truth = events.truth(windows.validation, before_validation, discovery=True,
                                                      eligible=eligible_validation)
    validation_basket_users, validation_basket_truth = events.truth(
        windows.validation, before_validation, discovery=False, eligible=eligible_validation)
    test_users, test_truth = events.truth(windows.test, before_test, discovery=True, eligible=seen_in_fit)
    test_basket_users, test_basket_truth = events.truth(windows.test, before_test, discovery=False,
                                                        eligible=seen_in_fit)
    recent = ~events.before(split.end - pd.Timedelta(days=params.popular_days))
    half_lives = HISTORY_HALF_LIVES if params.history_half_life_days is None else (params.history_half_life_days,)
    everything = events.everything
    return Prepared(
        split=split, windows=window_choice, repeat_rate=repeat_rate(before_test), user_ids=user_ids, item_ids=item_ids, item_category=features.item_category,
        price_edges=features.price_edges, user_features=features.user_features,
        item_features=features.item_features, user_vocabulary=features.user_vocabulary,
        item_vocabulary=features.item_vocabulary,
        fit_interactions=fit_interactions,
        pre_test_interactions=events.weighted(windows.pre_test, split.test_start),
        all_interactions=events.weighted(everything, split.end),
        purchases_before_validation=before_validation, purchases_before_test=before_test,
        all_purchases=events.purchases(everything),
        decayed_purchases_before_validation={
            half_life: events.purchases(windows.fit, split.fit_end, half_life) for half_life in half_lives},
        decayed_purchases_before_test={
            half_life: events.purchases(windows.pre_test, split.test_start, half_life) for half_life in half_lives},
        validation_users=validation_users, validation_truth=validation_truth,
        validation_next_basket_users=validation_basket_users, validation_next_basket_truth=validation_basket_truth,
        test_users=test_users, test_truth=test_truth,
        test_next_basket_users=test_basket_users, test_next_basket_truth=test_basket_truth,
        popular_recent=popularity(events.purchases(recent) if recent.any() else events.purchases(everything)),
        # no purchase on or after the validation window's start may inform the validation trend
        trend_before_validation=trend(events.purchases(events.before(split.fit_end), split.fit_end,
                                                       TREND_HALF_LIFE_DAYS)),
        trend_before_test=trend(events.purchases(windows.pre_test, split.test_start, TREND_HALF_LIFE_DAYS)),
        trend_at_end=trend(events.purchases(everything, split.end, TREND_HALF_LIFE_DAYS)),
        n_events=len(events.times),
    )
