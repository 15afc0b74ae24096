"""The gate (engine.gate) and the evaluation windows (engine.windows): pure, with exact answers."""

import numpy as np
import scipy.sparse as sp

from recommender import engine
from recommender.engine.windows import MIN_WINDOW_DAYS

DAY = 86_400 * 10**9


def _per_user(discovery_served, discovery_popular, basket_served, basket_again, basket_popular):
    return {"discovery": {"served": np.array(discovery_served), "popularity": np.array(discovery_popular)},
            "next_basket": {"served": np.array(basket_served), "buy_again": np.array(basket_again),
                            "popularity": np.array(basket_popular)}}


def test_repeat_rate_is_the_share_of_purchases_that_repeat_a_customers_item():
    # given customer 0 bought item 0 three times and item 1 once; customer 1 bought item 2 once
    counts = sp.csr_matrix(np.array([[3, 1, 0], [0, 0, 1]], dtype=np.float64))
    # then 2 of the 5 purchases repeat an item
    assert engine.repeat_rate(counts) == 0.4
    assert engine.repeat_rate(sp.csr_matrix((2, 3))) == 0.0


def test_a_clear_win_on_every_question_passes():
    n = 40
    ones, zeros = [1.0] * n, [0.0] * n
    verdict = engine.judge(_per_user(ones, zeros, ones, zeros, zeros), rate=0.3, metric="ndcg@10")
    assert verdict["status"] == "PASSED" and verdict["notes"] == []
    assert verdict["questions"]["next_basket"]["comparisons"]["buy_again"]["verdict"] == "BETTER"


def test_a_tie_within_one_standard_error_is_not_worse_and_noted():
    # given served and buy-again differ by +-1 on alternate customers: gain 0, standard error > 0
    n = 40
    ones, zeros = [1.0] * n, [0.0] * n
    alternate = [1.0, 0.0] * (n // 2)
    flipped = [0.0, 1.0] * (n // 2)
    verdict = engine.judge(_per_user(ones, zeros, alternate, flipped, zeros), rate=0.3, metric="ndcg@10")
    assert verdict["status"] == "NOT_WORSE"
    comparison = verdict["questions"]["next_basket"]["comparisons"]["buy_again"]
    assert comparison["gain"] == 0.0 and comparison["verdict"] == "NOT_WORSE"
    assert verdict["notes"] == ["next_basket: not worse than buy_again (gain +0.0000 +- 0.1601)"]


def test_significantly_worse_on_a_judged_question_is_rejected():
    n = 40
    ones, zeros = [1.0] * n, [0.0] * n
    verdict = engine.judge(_per_user(ones, zeros, zeros, ones, zeros), rate=0.3, metric="ndcg@10")
    assert verdict["status"] == "REJECTED"
    assert verdict["questions"]["next_basket"]["comparisons"]["buy_again"]["verdict"] == "WORSE"


def test_a_shop_where_nobody_rebuys_has_no_next_basket_question():
    # given next basket loses to buy-again, in a shop whose repeat rate is under the threshold
    n = 40
    ones, zeros = [1.0] * n, [0.0] * n
    verdict = engine.judge(_per_user(ones, zeros, zeros, ones, zeros), rate=0.01, metric="ndcg@10")
    # then only discovery is judged
    assert verdict["status"] == "PASSED"
    basket = verdict["questions"]["next_basket"]
    assert (basket["applicable"], "comparisons" in basket) == (False, False)
    assert verdict["notes"] == ["next_basket: not applicable (repeat-purchase rate 0.010 < 0.05)"]


def test_too_few_customers_is_not_judgeable():
    few = engine.MIN_JUDGED_USERS - 1
    ones, zeros = [1.0] * few, [0.0] * few
    verdict = engine.judge(_per_user(zeros, ones, zeros, ones, ones), rate=0.3, metric="ndcg@10")
    assert verdict["status"] == "NOT_JUDGEABLE"
    assert verdict["questions"]["discovery"]["judgeable"] is False


def test_judgeable_buyers_count_customers_seen_before_the_window_who_buy_in_it():
    end = 100 * DAY
    # customer 0: first seen on day 0, buys on day 95 (5 days before the end); customer 1: first seen (and
    # buys) on day 98; customer 2: seen on day 10, buys on day 80; customer 3 only views
    users = np.array([0, 0, 1, 2, 2, 3])
    times = np.array([0, 95, 98, 10, 80, 50]) * DAY
    purchase = np.array([False, True, True, False, True, False])
    counts = engine.judgeable_buyers_by_days(users, times, purchase, end, 30)
    assert counts[0] == 0
    assert counts[4] == 0  # nobody bought in the last 4 days but customer 1, who is new
    assert counts[5] == 1 and counts[19] == 1  # customer 0 from 5 days on
    assert counts[20] == 2  # customer 2 from 20 days on
    assert engine.shortest_window(counts, 2, min_days=MIN_WINDOW_DAYS, max_days=30) == 20
    assert engine.shortest_window(counts, 3, min_days=MIN_WINDOW_DAYS, max_days=30) == 30  # never: the longest


def test_windows_are_sized_for_the_target_from_the_data_unless_given():
    # given 2,000 customers, each seen on day 0 and buying once on a day spread over a year
    rng = np.random.default_rng(0)
    n = 2000
    buy_day = rng.uniform(1, 365, n)
    users = np.concatenate([np.arange(n), np.arange(n)])
    times = (np.concatenate([np.zeros(n), buy_day]) * DAY).astype(np.int64)
    purchase = np.concatenate([np.zeros(n, dtype=bool), np.ones(n, dtype=bool)])
    choice = engine.choose_windows(users, times, purchase, validation_share=0.5)
    # then the target is min(500, 10% of 2,000) = 200 buyers, about 200 / (2000 / 364) = 36 days
    assert choice.target_users == 200 and choice.active_customers == n and choice.chosen == "data"
    assert 30 <= choice.test_days <= 42 and choice.test_buyers >= 200
    # and validation needs 200 / 0.5 = 400 buyers before the test window: about twice as long
    assert 2 * choice.test_days - 12 <= choice.validation_days <= 2 * choice.test_days + 12
    given = engine.choose_windows(users, times, purchase, validation_share=0.5, test_days=30, validation_days=14)
    assert (given.test_days, given.validation_days, given.chosen) == (30, 14, "params")
