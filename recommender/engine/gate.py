"""The gate a trained version must pass to be served: each question judged only where the data supports it,
by a paired test over the test window's users against each baseline.

* Discovery (items new to the customer) is judged against popularity; next basket (what they buy next,
  re-buys included) against buy-again and popularity, but only in a shop where customers re-buy: one whose
  repeat-purchase rate (the share of purchases, before the test window, of an item the same customer had
  bought before) is under ``REPEAT_RATE_THRESHOLD`` has no next-basket question (not applicable).
* A question judged on fewer than ``MIN_JUDGED_USERS`` customers is not judgeable.
* Per comparison, the per-customer difference of the primary metric (served - baseline) has a mean gain and
  a standard error (``metrics.paired_gain``): BETTER when the gain exceeds one standard error, WORSE when it
  is below minus one, else NOT_WORSE (a tie within the noise).
* The verdict: NOT_JUDGEABLE when no question could be judged; REJECTED when any comparison is WORSE; PASSED
  when every one is BETTER; NOT_WORSE otherwise (served, with a note saying which baselines it only tied).
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import scipy.sparse as sp

from .metrics import paired_gain

REPEAT_RATE_THRESHOLD = 0.05
MIN_JUDGED_USERS = 20

BASELINES = {"discovery": ("popularity",), "next_basket": ("buy_again", "popularity")}


class GateStatus(str, Enum):
    PASSED = "PASSED"  # better than every baseline of every judged question
    NOT_WORSE = "NOT_WORSE"  # no baseline significantly better; some only tied
    REJECTED = "REJECTED"  # significantly worse than a baseline on a judged question
    NOT_JUDGEABLE = "NOT_JUDGEABLE"  # too few customers to judge any question


class Verdict(str, Enum):
    BETTER = "BETTER"
    NOT_WORSE = "NOT_WORSE"
    WORSE = "WORSE"


def repeat_rate(purchase_counts: sp.csr_matrix) -> float:
    """The share of purchases that repeat an item the same customer had bought (counts per user and item)."""
    total = float(purchase_counts.sum())
    return (total - purchase_counts.nnz) / total if total else 0.0


def compare(served: np.ndarray, baseline: np.ndarray) -> dict:
    gain, standard_error = paired_gain(np.asarray(served, dtype=np.float64), np.asarray(baseline, dtype=np.float64))
    verdict = (Verdict.BETTER if gain > standard_error else
               Verdict.WORSE if gain < -standard_error else Verdict.NOT_WORSE)
    return {"gain": gain, "standard_error": standard_error, "verdict": verdict.value}


def judge(per_user: dict[str, dict[str, np.ndarray]], *, rate: float, metric: str) -> dict:
    """The gate's verdict from the per-customer figures of the test window.

    ``per_user[question][ranker]`` is the array of ``metric`` per judged customer (the same customers, in the
    same order, for every ranker of a question); rankers are ``served`` and the names in ``BASELINES``."""
    questions = {}
    for question, baselines in BASELINES.items():
        served = per_user[question]["served"]
        entry: dict = {"judged_users": int(len(served)), "applicable": True, "judgeable": True}
        if question == "next_basket" and rate < REPEAT_RATE_THRESHOLD:
            entry.update(applicable=False, judgeable=False,
                         why=f"repeat-purchase rate {rate:.3f} < {REPEAT_RATE_THRESHOLD}")
        elif len(served) < MIN_JUDGED_USERS:
            entry.update(judgeable=False, why=f"{len(served)} customers < {MIN_JUDGED_USERS}")
        else:
            entry["comparisons"] = {name: compare(served, per_user[question][name]) for name in baselines}
        questions[question] = entry
    verdicts = [c["verdict"] for q in questions.values() for c in q.get("comparisons", {}).values()]
    if not verdicts:
        status = GateStatus.NOT_JUDGEABLE
    elif Verdict.WORSE.value in verdicts:
        status = GateStatus.REJECTED
    elif all(v == Verdict.BETTER.value for v in verdicts):
        status = GateStatus.PASSED
    else:
        status = GateStatus.NOT_WORSE
    return {"status": status.value, "metric": metric, "repeat_rate": rate, "questions": questions,
            "notes": _notes(questions)}


def _notes(questions: dict) -> list[str]:
    notes = []
    for question, entry in questions.items():
        if "why" in entry:
            label = "not applicable" if not entry["applicable"] else "not judgeable"
            notes.append(f"{question}: {label} ({entry['why']})")
        for name, comparison in entry.get("comparisons", {}).items():
            if comparison["verdict"] != Verdict.BETTER.value:
                notes.append(f"{question}: {comparison['verdict'].lower().replace('_', ' ')} than {name} "
                             f"(gain {comparison['gain']:+.4f} +- {comparison['standard_error']:.4f})")
    return notes
