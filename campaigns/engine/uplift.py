"""Who to target next: a two-model uplift learner, judged by the Qini coefficient on a held-out half.

The learner (a "T-learner") fits one classifier of conversion on the treated members and one on the
control members (scikit-learn's ``HistGradientBoostingClassifier`` over RFM and segment features); a
customer's predicted uplift is the difference of the two probabilities. It is fitted on one half of an
ended campaign's members and judged on the other half against two orders that need no model of the
effect: random order (Qini 0 in expectation) and plain response probability (one classifier on
everybody, treatment ignored).

Qini curve: members in order of score, ``Q(i) = conv_T(i) - conv_C(i) * n_T(i) / n_C(i)`` over the first i;
the coefficient is the area between that curve and the straight line to ``Q(N)`` (random order), both
as fractions of the members, divided by N. Positive: the order finds the persuadable first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

MIN_PER_GROUP = 20


@dataclass
class UpliftEvaluation:
    qini: float  # the uplift model's Qini coefficient on the held-out half
    qini_random: float  # random order's, on the same half (one seeded shuffle)
    qini_response: float  # ranking by plain response probability
    train_members: int
    test_members: int


def qini_curve(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Q(i) for i = 0..N (members best score first; ties in the given order)."""
    order = np.argsort(-score, kind="stable")
    t, y = treated[order].astype(bool), outcome[order].astype(np.float64)
    n_t, n_c = np.cumsum(t), np.cumsum(~t)
    y_t, y_c = np.cumsum(y * t), np.cumsum(y * ~t)
    q = y_t - np.divide(y_c * n_t, n_c, out=np.zeros_like(y_c), where=n_c > 0)
    return np.concatenate([[0.0], q])


def qini_coefficient(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> float:
    """Area between the Qini curve and the random line, per member squared (0 for random order on average)."""
    q = qini_curve(score, treated, outcome)
    n = len(q) - 1
    if n == 0:
        return 0.0
    random_line = np.linspace(0.0, q[-1], n + 1)
    return float(np.trapezoid(q - random_line, dx=1.0 / n) / n)


def _classifier(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=40,
                                          l2_regularization=1.0, random_state=seed)


def _probability(model: HistGradientBoostingClassifier, x: np.ndarray) -> np.ndarray:
    if len(model.classes_) == 1:
        return np.full(len(x), float(model.classes_[0]))
    return model.predict_proba(x)[:, 1]


@dataclass
class TwoModelLearner:
    treated_model: HistGradientBoostingClassifier
    control_model: HistGradientBoostingClassifier

    def predict(self, x: np.ndarray) -> np.ndarray:
        return _probability(self.treated_model, x) - _probability(self.control_model, x)


def fit_two_model(x: np.ndarray, treated: np.ndarray, outcome: np.ndarray, *, seed: int = 0) -> TwoModelLearner:
    treated = treated.astype(bool)
    if treated.sum() < MIN_PER_GROUP or (~treated).sum() < MIN_PER_GROUP:
        raise ValueError(f"the uplift model needs at least {MIN_PER_GROUP} members in each group")
    return TwoModelLearner(_classifier(seed).fit(x[treated], outcome[treated]),
                           _classifier(seed + 1).fit(x[~treated], outcome[~treated]))


def two_model_uplift(x: np.ndarray, treated: np.ndarray, outcome: np.ndarray, *,
                     seed: int = 0) -> tuple[TwoModelLearner, UpliftEvaluation]:
    """Fit on a random half, judge on the other; returns the learner refitted on every member and the
    held-out evaluation."""
    rng = np.random.default_rng(seed)
    test = rng.random(len(x)) < 0.5
    learner = fit_two_model(x[~test], treated[~test], outcome[~test], seed=seed)
    x_test, t_test, y_test = x[test], treated[test].astype(bool), outcome[test]
    response = _classifier(seed + 2).fit(x[~test], outcome[~test])
    evaluation = UpliftEvaluation(
        qini=qini_coefficient(learner.predict(x_test), t_test, y_test),
        qini_random=qini_coefficient(rng.random(len(x_test)), t_test, y_test),
        qini_response=qini_coefficient(_probability(response, x_test), t_test, y_test),
        train_members=int((~test).sum()), test_members=int(test.sum()),
    )
    return fit_two_model(x, treated, outcome, seed=seed), evaluation
