"""Pure numerics for the recommender: no Django here, everything takes and returns numpy/scipy/pandas
objects, so it can be unit-tested and benchmarked without a database.

By concern:

* ``features``      interactions and features as sparse matrices;
* ``lightfm_fit``   LightFM fitted epoch by epoch with early stopping;
* ``scoring``       the ranking primitives (masks, top-k, standardised rows);
* ``metrics``       precision/recall/nDCG@k, AUC, a scorer's evaluation;
* ``baselines``     popularity, buy-again, EASE;
* ``blend``         the next-basket blend with the customer's own history and the trend;
* ``item_item``     the discovery ranking's item-to-item term;
* ``ranking``       one request's ranking over the served arrays (what the selectors call);
* ``windows``       the test and validation windows, sized from the data;
* ``gate``          the per-question paired test a version must pass to be served;
* ``session``       a visitor's current session as a ranking (no retraining), and its offline replay;
* ``prepare``       the time split, the validation users and every matrix of a run;
* ``pipeline``      the training run as stages (``run_pipeline``), with ``side_thread`` and ``artifact``.

Conventions: users and items are rows/columns 0..n-1 and callers keep the id arrays (``user_ids``,
``item_ids``); a "scorer" maps an array of user rows to a dense ``(len(rows), n_items)`` float32 score
block; ``-inf`` marks an item that must not be recommended. The names below are the engine's public
surface, so callers write ``engine.fit_lightfm``; a test that replaces a function the pipeline calls
patches it in ``engine.pipeline``, where the run looks it up.
"""

from .artifact import Artifact, PipelineResult, without_users
from .baselines import buy_again_scorer, ease_fit, ease_scorer, popularity, popularity_scorer
from .blend import (
    BLEND_GRID, HISTORY_HALF_LIVES, REFERENCE_BLEND, TREND_GRID, TREND_HALF_LIFE_DAYS, blend_scorer,
    history_strength, history_weights, trend, tune_blend,
)
from .gate import MIN_JUDGED_USERS, REPEAT_RATE_THRESHOLD, GateStatus, Verdict, judge, repeat_rate
from .features import (
    DESCRIPTION_WORDS_ALWAYS, PRICE_BANDS, description_tokens, feature_matrix, index_of, interaction_matrix,
    interaction_weights, item_feature_names, price_band_edges, price_bands, training_pair, user_feature_names,
)
from .item_item import (
    ITEM_ITEM_GRID, ITEM_ITEM_MAX_ITEMS, ITEM_ITEM_MIN_BUYERS, ITEM_ITEM_NEIGHBOURS, discovery_scorer,
    discovery_scores, item_item_fit, item_item_terms, tune_discovery,
)
from .lightfm_fit import (
    FitResult, available_threads, fit_lightfm, lightfm_scorer, model_scorer, new_model, representations,
)
from .metrics import K, auc_scores, evaluate, metrics_from_hits, paired_gain, ranking_metrics
from .pipeline import evaluate_both, run_pipeline
from .prepare import Frames, Prepared, TimeSplit, holdout_truth, prepare, time_split
from .session import (
    CUSTOMER_WEIGHT_IN_SESSION, SESSION_KIND_WEIGHTS, last_item_scores, replay, session_event_weights, session_scores,
    with_customer,
)
from .windows import WindowChoice, choose_windows, judgeable_buyers_by_days, shortest_window, target_users
from .ranking import (
    best_items, discovery_in_place, exclude, feature_vector, item_item_term, model_scores, next_basket_scores,
    restrict, unit_vector,
)
from .scoring import NEG_INF, Scorer, mask_rows, score_items, standardise_rows, top_k, top_k_1d
