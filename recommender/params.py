"""The `recommender.train` job's parameters: the one place their names, defaults and checks are written.

Pure Python (no Django), so the engine takes these parameters as they are: a bench or a test that keeps
the defaults trains the model the job serves. ``TrainParams`` raises ``jobs.registry.JobParamsError``
(a Django-free module) for bad input, which the job registry hands to clients with the field's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.registry import JobParamsError

LOSSES = ("warp", "bpr", "warp-kos", "logistic")
METRICS = ("ndcg@10", "precision@10", "recall@10")

# the event kind each interaction weight applies to
KIND_WEIGHT_FIELDS = {"purchase": "weight_purchase", "add_to_cart": "weight_add_to_cart", "view": "weight_view",
                      "review": "weight_review"}


def _number(name: str, value, low: float, high: float, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise JobParamsError(name, f"{name} must be {kind} from {low} to {high}")


@dataclass
class TrainParams:
    loss: str = "warp"
    components: int = 64
    epochs: int = 20
    learning_rate: float = 0.1
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 30
    patience: int = 3
    seed: int = 0
    # interaction weight per event kind (0 leaves the kind out); returns are never a positive signal
    weight_purchase: float = 1.0
    weight_add_to_cart: float = 0.4
    weight_view: float = 0.1
    weight_review: float = 0.5
    identity_share: float = 0.8  # share of a known user's/item's row on its own identity feature
    half_life_days: float = 0.0  # decay of interaction weights with age; 0 = none
    history_half_life_days: float | None = None  # own purchases' decay in the next-basket blend; None: tuned
    test_days: int = 30
    validation_days: int = 14
    validation_share: float = 0.3
    popular_days: int = 30
    # the discovery ranking's item-to-item (EASE) term: its L2 penalty (0 leaves the term out) and how many
    # neighbours each item keeps; the term's weight is chosen on the validation users
    item_item_lambda: float = 200.0
    item_item_neighbours: int = 300
    refit: bool = True  # refit on all data (with the early-stopped epoch count) before serving
    primary_metric: str = "ndcg@10"
    activate: bool = True  # activate when it beats the baselines

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise JobParamsError("loss", f"loss must be one of {', '.join(LOSSES)}")
        if self.primary_metric not in METRICS:
            raise JobParamsError("primary_metric", f"primary_metric must be one of {', '.join(METRICS)}")
        _number("components", self.components, 1, 512, integer=True)
        _number("epochs", self.epochs, 1, 500, integer=True)
        _number("learning_rate", self.learning_rate, 1e-5, 1.0)
        _number("item_alpha", self.item_alpha, 0.0, 1.0)
        _number("user_alpha", self.user_alpha, 0.0, 1.0)
        _number("max_sampled", self.max_sampled, 1, 1000, integer=True)
        _number("patience", self.patience, 1, 100, integer=True)
        _number("seed", self.seed, 0, 2**31 - 1, integer=True)
        for name in ("weight_purchase", "weight_add_to_cart", "weight_view", "weight_review"):
            _number(name, getattr(self, name), 0.0, 100.0)
        if self.weight_purchase <= 0:
            raise JobParamsError("weight_purchase", "weight_purchase must be positive")
        _number("identity_share", self.identity_share, 0.0, 1.0)
        _number("half_life_days", self.half_life_days, 0.0, 3650.0)
        if self.history_half_life_days is not None:
            _number("history_half_life_days", self.history_half_life_days, 0.0, 3650.0)
        _number("test_days", self.test_days, 1, 365, integer=True)
        _number("validation_days", self.validation_days, 1, 365, integer=True)
        _number("validation_share", self.validation_share, 0.05, 0.9)
        _number("popular_days", self.popular_days, 1, 3650, integer=True)
        _number("item_item_lambda", self.item_item_lambda, 0.0, 1e6)
        if 0 < self.item_item_lambda < 1:
            raise JobParamsError("item_item_lambda", "item_item_lambda must be 0 (no item-to-item term) or at least 1")
        _number("item_item_neighbours", self.item_item_neighbours, 1, 5000, integer=True)
        for name in ("refit", "activate"):
            if not isinstance(getattr(self, name), bool):
                raise JobParamsError(name, f"{name} must be true or false")


def kind_weights(params: TrainParams) -> dict[str, float]:
    """The interaction weight of each event kind the model learns from (kinds weighted 0 are left out)."""
    weights = {kind: float(getattr(params, name)) for kind, name in KIND_WEIGHT_FIELDS.items()}
    return {kind: weight for kind, weight in weights.items() if weight > 0}
