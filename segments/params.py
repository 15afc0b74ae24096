"""The `segments.run` job's parameters: the one place their defaults, ranges and help are written.

The job validates with this dataclass, ``segmentation_run`` takes it, and the GraphQL input
``RunSegmentationInput`` is generated from it (jobs.params).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jobs.params import JobParams, param
from jobs.registry import JobParamsError

from .models import Algorithm

# Views join R, F and M by default: engagement separates customers that RFM alone blurs (a column
# without variation, e.g. a shop that sends no views, is constant after scaling and changes nothing).
DEFAULT_FEATURES = ("recency", "frequency", "monetary", "views")
ALL_FEATURES = ("recency", "frequency", "monetary", "views", "add_to_cart_rate", "category_breadth",
                "average_basket", "tenure")
MAX_SAMPLE = 200_000


def _iso_date(value) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError("as_of must be a date, YYYY-MM-DD") from None


@dataclass
class SegmentationParams(JobParams):
    algorithm: str = param(Algorithm.KMEANS.value, choices=Algorithm.values,
                           help="K-means (k chosen by silhouette unless given) or DBSCAN (density, with noise).")
    as_of: str | None = param(None, parse=_iso_date,
                              help="Default: the day of the last purchase (shop time).")
    k: int | None = param(None, low=2, high=30, help="Default: chosen in kMin..kMax.")
    k_min: int = param(3, low=2, high=30, help="Smallest k tried by silhouette (K-means).")
    k_max: int = param(8, low=2, high=30, help="Largest k tried by silhouette (K-means).")
    eps: float = param(0.5, low=0, high=10, low_exclusive=True,
                       message="eps must be a number in (0, 10] (features are standardised)",
                       help="DBSCAN radius in standardised feature units.")
    min_samples: int = param(10, low=1, high=10_000, help="DBSCAN: neighbours that make a point a core point.")
    sample_size: int = param(20_000, low=100, high=MAX_SAMPLE, help="Rows used to choose k and to fit DBSCAN.")
    features: list[str] = param(default_factory=lambda: list(DEFAULT_FEATURES),
                                help="Default recency, frequency, monetary, views; also add_to_cart_rate, "
                                     "category_breadth, average_basket, tenure.")
    seed: int = param(0, low=0, high=2**31 - 1, help="Random seed of the sampling and of K-means.")

    def check(self) -> None:
        if self.k_min > self.k_max:
            raise JobParamsError("k_min", "k_min must not exceed k_max")
        if not self.features:
            raise JobParamsError("features", "features must be a non-empty list")
        unknown = [name for name in self.features if name not in ALL_FEATURES]
        if unknown:
            raise JobParamsError("features", f"unknown feature '{unknown[0]}'; known: {', '.join(ALL_FEATURES)}")
        if len(set(self.features)) != len(self.features):
            raise JobParamsError("features", "features must not repeat")

    @property
    def as_of_date(self) -> date | None:
        return date.fromisoformat(self.as_of) if self.as_of else None
