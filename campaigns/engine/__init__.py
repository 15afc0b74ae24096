"""Pure numerics for campaigns: no Django here, so each piece is tested and benchmarked on arrays alone.

* ``assignment`` the deterministic TREATMENT/CONTROL split (a keyed hash per customer);
* ``picks``      every member's picks in one batch over the active recommender's arrays;
* ``stats``      lifts with intervals and p-values, CUPED, sample-ratio mismatch (scipy, statsmodels);
* ``uplift``     the two-model uplift learner and the Qini coefficient (scikit-learn).
"""

from .assignment import control_mask, unit_hash
from .picks import PickModel, PicksResult, batch_picks, purchase_matrix
from .stats import (
    GroupArrays, Lift, Results, conversion_lift, cuped_revenue_lift, daily_from_lines, member_outcomes, results_from_arrays,
    revenue_lift, srm_p_value,
)
from .uplift import TwoModelLearner, UpliftEvaluation, fit_two_model, qini_coefficient, qini_curve, two_model_uplift

__all__ = [
    "GroupArrays", "Lift", "PickModel", "PicksResult", "Results", "TwoModelLearner", "UpliftEvaluation", "fit_two_model", "batch_picks", "purchase_matrix",
    "control_mask", "conversion_lift", "cuped_revenue_lift", "daily_from_lines", "member_outcomes", "qini_coefficient", "qini_curve",
    "results_from_arrays", "revenue_lift", "srm_p_value", "two_model_uplift", "unit_hash",
]
