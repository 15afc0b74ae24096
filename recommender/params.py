"""The `recommender.train` job's parameters: the one place their names, defaults and checks are written.

Pure Python (no Django), so the engine takes these parameters as they are: a bench or a test that keeps
the defaults trains the model the job serves. Each field is declared with ``jobs.params.param`` (default,
range, help), which validates it, raising ``jobs.registry.JobParamsError`` (Django-free) with the field's
name, and from which the GraphQL input ``TrainRecommenderInput`` is generated.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.params import JobParams, param
from jobs.registry import JobParamsError

LOSSES = ("warp", "bpr", "warp-kos", "logistic")
METRICS = ("ndcg@10", "precision@10", "recall@10")

# the event kind each interaction weight applies to
KIND_WEIGHT_FIELDS = {"purchase": "weight_purchase", "add_to_cart": "weight_add_to_cart", "view": "weight_view",
                      "review": "weight_review"}


@dataclass
class TrainParams(JobParams):
    loss: str = param("warp", choices=LOSSES, help="LightFM's loss.")
    components: int = param(64, low=1, high=512, help="Embedding size.")
    epochs: int = param(20, low=1, high=500, help="Most epochs; early stopping on validation ends sooner.")
    learning_rate: float = param(0.1, low=1e-5, high=1.0, help="LightFM's learning rate.")
    item_alpha: float = param(1e-6, low=0.0, high=1.0, help="L2 penalty on item features.")
    user_alpha: float = param(1e-6, low=0.0, high=1.0, help="L2 penalty on user features.")
    max_sampled: int = param(30, low=1, high=1000, help="WARP's most negatives sampled per positive.")
    patience: int = param(3, low=1, high=100, help="Epochs without a validation gain before stopping.")
    seed: int = param(0, low=0, high=2**31 - 1, help="Random seed of the split and the fit.")
    # interaction weight per event kind (0 leaves the kind out); returns are never a positive signal
    weight_purchase: float = param(1.0, low=0.0, high=100.0, help="Interaction weight of a purchase (> 0).")
    weight_add_to_cart: float = param(0.4, low=0.0, high=100.0, help="Weight of an add-to-cart (0: left out).")
    weight_view: float = param(0.1, low=0.0, high=100.0, help="Weight of a view (0: left out).")
    weight_review: float = param(0.5, low=0.0, high=100.0, help="Weight of a review (0: left out).")
    identity_share: float = param(0.8, low=0.0, high=1.0,
                                  help="Share of a known user's or item's row on its own identity feature.")
    half_life_days: float = param(0.0, low=0.0, high=3650.0,
                                  help="Decay of interaction weights with age, in days (0: none).")
    history_half_life_days: float | None = param(
        None, low=0.0, high=3650.0, help="Decay of own purchases in the next-basket blend (default: tuned).")
    test_days: int | None = param(None, low=1, high=365, help="The latest days held out to judge the model "
                                  "(default: sized from the data, see docs/recommender.md).")
    validation_days: int | None = param(None, low=1, high=365, help="Days before the test window used for tuning "
                                        "(default: sized from the data).")
    validation_share: float = param(0.3, low=0.05, high=0.9, help="Share of users judged on validation.")
    popular_days: int = param(30, low=1, high=3650, help="Window of the popularity fallback, in days.")
    # the discovery ranking's item-to-item (EASE) term: its L2 penalty (0 leaves the term out) and how many
    # neighbours each item keeps; the term's weight is chosen on the validation users
    item_item_lambda: float = param(200.0, low=0.0, high=1e6,
                                    help="L2 penalty of the item-to-item term: 0 (left out) or at least 1.")
    item_item_neighbours: int = param(300, low=1, high=5000, help="Neighbours each item keeps.")
    refit: bool = param(True, help="Refit on all data (with the early-stopped epoch count) before serving.")
    primary_metric: str = param("ndcg@10", choices=METRICS, help="The metric the gate and the choices use.")
    activate: bool = param(True, help="Activate the version when it beats the baselines.")

    def check(self) -> None:
        if self.weight_purchase <= 0:
            raise JobParamsError("weight_purchase", "weight_purchase must be positive")
        if 0 < self.item_item_lambda < 1:
            raise JobParamsError("item_item_lambda", "item_item_lambda must be 0 (no item-to-item term) or at least 1")


def kind_weights(params: TrainParams) -> dict[str, float]:
    """The interaction weight of each event kind the model learns from (kinds weighted 0 are left out)."""
    weights = {kind: float(getattr(params, name)) for kind, name in KIND_WEIGHT_FIELDS.items()}
    return {kind: weight for kind, weight in weights.items() if weight > 0}
