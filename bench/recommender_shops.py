"""Recommendation quality across shapes of shop: the served GraphQL answers against popularity, buy-again, EASE, ALS.

Per shop (the demo data and the synthetic shapes of behavior/shop_shapes.py): the latest window that holds
enough customers to judge (the recommender's own rule, engine.windows) is held out; everything before it is
stored through the import path, a `recommender.train` job runs with default parameters, and the held-out
customers' `recommendations` are asked over GraphQL (discovery: excludePurchased true; next basket: false)
and scored on what they bought in the held-out window. The baselines are fitted on the same data before the
window and judged on the same customers. Printed: precision@10, nDCG@10 and coverage per question and ranker,
the ratio served / best baseline per row, the gate's verdict, and a replay of held-out sessions (session
ranking vs recent popularity vs item-to-item from the last item) on the synthetic shops.

    scripts/bench recommender_shops [--shops=demo,no_rebuy,grocery,few_recent,years_ago] [--users=400]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

SHOPS = ["demo", "no_rebuy", "grocery", "few_recent", "years_ago"]
BASELINES = {"discovery": ("popularity", "EASE", "ALS"), "next_basket": ("popularity", "buy-again", "EASE", "ALS")}
QUERY = """query($who: String!, $exclude: Boolean!) {
  recommendations(customerExternalId: $who, first: 10, excludePurchased: $exclude) { strategy items { product { sku } } }
}"""


def _shop_frames(name: str):
    from django.conf import settings

    from behavior.online_retail import clean, read_raw
    from behavior.shop_shapes import SHAPES, generate_shape

    if name == "demo":
        return clean(read_raw(settings.DEMO_DATA_PATH))
    return generate_shape(SHAPES[name])


def _empty_database() -> None:
    from django.db import connection

    tables = ["behavior_event", "behavior_customer", "catalog_product", "catalog_category", "behavior_importreport",
              "recommender_modelactivation", "recommender_modelversion", "jobs_job"]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def _holdout_days(events: pd.DataFrame) -> int:
    """The recommender's own rule for the test window, on the whole shop."""
    from recommender import engine

    known = events[events["customer_external_id"].notna()]
    users = pd.factorize(known["customer_external_id"])[0]
    times = pd.DatetimeIndex(known["occurred_at"]).as_unit("ns").asi8
    return engine.choose_windows(users, times, (known["kind"] == "purchase").to_numpy(), validation_share=0.3).test_days


def _load_before(data, cut: pd.Timestamp, name: str) -> pd.DataFrame:
    """Store the shop's events before ``cut``; return the held-out ones."""
    from django.db import OperationalError

    from behavior.services import shop_frames_load
    from behavior.synthetic import SyntheticData

    events = data.events
    held = pd.DatetimeIndex(events["occurred_at"]) >= cut
    before = SyntheticData(categories=data.categories, products=data.products, customers=data.customers,
                           events=events[~held].reset_index(drop=True))
    for attempt in range(1, 4):
        try:
            shop_frames_load(data=before, source=f"bench recommender_shops {name}")
            break
        except OperationalError as exc:  # e.g. the shared server's lock table full of another client's locks
            if attempt == 3:
                raise
            print(f"load attempt {attempt} failed ({str(exc).splitlines()[0]}); again in 20 s (event ids dedupe)")
            time.sleep(20)
    return events[held]


def _prepared(held: pd.DataFrame, test_days: int):
    """The recommender's matrices over the stored events plus the held-out ones (test window = held-out)."""
    from behavior.models import Customer
    from catalog.models import Product
    from recommender import engine, selectors
    from recommender.params import TrainParams, kind_weights

    params = TrainParams(test_days=test_days)
    frames = selectors.training_frames(kinds=sorted(kind_weights(params)))
    customer_id = dict(Customer.objects.values_list("external_id", "id"))
    product_id = dict(Product.objects.values_list("sku", "id"))
    held = held[held["kind"].isin(list(kind_weights(params))) & held["customer_external_id"].isin(customer_id)]
    later = pd.DataFrame({"user_id": held["customer_external_id"].map(customer_id).astype(np.int64),
                          "item_id": held["product_sku"].map(product_id).astype(np.int64),
                          "kind": held["kind"].astype(str).to_numpy(),
                          "occurred_at": pd.DatetimeIndex(held["occurred_at"]).tz_convert("UTC"),
                          "quantity": held["quantity"].astype(np.int64)})
    frames.events = pd.concat([frames.events, later], ignore_index=True)
    return engine.prepare(frames, params)


def _served_rankings(data, users: np.ndarray, exclude: bool) -> np.ndarray:
    """The GraphQL answers for these user rows, as item columns (-1: an empty slot)."""
    from django.test import Client

    from behavior.models import Customer
    from catalog.models import Product
    from recommender import engine

    external = dict(Customer.objects.filter(pk__in=data.user_ids[users].tolist()).values_list("id", "external_id"))
    product_id = dict(Product.objects.values_list("sku", "id"))
    client = Client()
    out = np.full((len(users), 10), -1, dtype=np.int64)
    for position, row in enumerate(users):
        body = client.post("/graphql/", {"query": QUERY, "variables": {
            "who": external[int(data.user_ids[row])], "exclude": exclude}}, content_type="application/json").json()
        skus = [item["product"]["sku"] for item in body["data"]["recommendations"]["items"]]
        columns = engine.index_of(data.item_ids, np.array([product_id[sku] for sku in skus], dtype=np.int64))
        out[position, :len(columns)] = columns
    return out


def _figures(ranked: np.ndarray, truth, n_items: int) -> dict[str, float]:
    from recommender import engine

    metrics = engine.ranking_metrics(ranked, truth)
    shown = np.unique(ranked[ranked >= 0])
    return {"precision@10": float(metrics["precision"].mean()), "ndcg@10": float(metrics["ndcg"].mean()),
            "coverage": len(shown) / max(n_items, 1), "users": len(ranked)}


def _scorer_figures(scorer, data, users, truth, excluded) -> dict[str, float]:
    from recommender import engine

    return engine.evaluate(scorer, users=users, truth=truth, excluded=excluded, n_items=data.n_items,
                           with_auc=False)


def _sample(users: np.ndarray, most: int) -> np.ndarray:
    if len(users) <= most:
        return users
    return np.sort(np.random.default_rng(0).choice(users, size=most, replace=False))


def _quality(data, most_users: int) -> dict[str, dict[str, dict]]:
    from bench.recommender import fitted_als, tuned_ease
    from recommender import engine

    popular = engine.popularity(data.purchases_before_test)
    ease, _, _ = tuned_ease(data)
    als, _ = fitted_als(data)
    scorers = {"popularity": engine.popularity_scorer(popular), "EASE": ease, "ALS": als,
               "buy-again": engine.buy_again_scorer(data.purchases_before_test, popular)}
    questions = {"discovery": (data.test_users, data.test_truth, data.purchases_before_test, True),
                 "next_basket": (data.test_next_basket_users, data.test_next_basket_truth, None, False)}
    out = {}
    for question, (users, truth, excluded, exclude) in questions.items():
        users = _sample(users, most_users)
        rows = {"served": _figures(_served_rankings(data, users, exclude), truth[users], data.n_items)}
        for name in BASELINES[question]:
            rows[name] = _scorer_figures(scorers[name], data, users, truth, excluded)
        out[question] = rows
    return out


def _session_replay(data, truth_intents: dict | None, held: pd.DataFrame) -> dict | None:
    """Held-out sessions with at least three events: the first two are seen, the rest's items are the truth."""
    from catalog.models import Product
    from recommender import engine, serving

    model = serving.loaded_model()
    if model is None or truth_intents is None:
        return None
    product_id = dict(Product.objects.values_list("sku", "id"))
    sessions, truths = [], []
    for _, events in held[held["session_id"] != ""].groupby("session_id", sort=False):
        if len(events) < 3:
            continue
        columns = engine.index_of(model.item_ids, events["product_sku"].map(product_id).to_numpy(dtype=np.int64))
        if (columns < 0).any():
            continue
        seen_at = pd.DatetimeIndex(events["occurred_at"])
        ages = (seen_at[1] - seen_at[:2]).total_seconds().to_numpy() / 60.0
        sessions.append((columns[:2], events["kind"].astype(str).tolist()[:2], ages))
        truths.append(np.unique(columns[2:]))
        if len(sessions) >= 2000:
            break
    if not sessions:
        return None
    return engine.replay(sessions, truths, item_item=model.item_item, item_unit=model.item_unit,
                         popular=model.popular_recent, minutes=30)


def _print_shop(name: str, quality: dict, version, seconds: dict, replay: dict | None, summary: list) -> None:
    from bench.recommender import _print_table

    gate = version.info["gate"]
    print(f"\n--- {name}: test window {version.info['windows']['test_days']} d chosen by the service; "
          f"held out here {seconds['holdout_days']} d; gate {gate['status']} (repeat rate {gate['repeat_rate']:.3f}); "
          f"load {seconds['load']:.0f} s, train {seconds['train']:.0f} s, score {seconds['score']:.0f} s")
    rows = []
    for question, rankers in quality.items():
        for ranker, m in rankers.items():
            rows.append([question, ranker, f"{m['precision@10']:.4f}", f"{m['ndcg@10']:.4f}",
                         f"{m['coverage']:.3f}", m["users"]])
        for metric in ("precision@10", "ndcg@10"):
            best_name = max(BASELINES[question], key=lambda b: rankers[b][metric])
            best = rankers[best_name][metric]
            ratio = rankers["served"][metric] / best if best else float("inf")
            summary.append([name, question, metric, f"{rankers['served'][metric]:.4f}",
                            f"{best_name} {best:.4f}", f"{ratio:.2f}x"])
    _print_table(["question", "ranker", "P@10", "nDCG@10", "coverage", "users"], rows)
    if replay:
        print("session replay (first two events seen, the rest to find): " + "; ".join(
            f"{ranker} P@10 {m['precision@10']:.4f} nDCG@10 {m['ndcg@10']:.4f}" for ranker, m in replay.items())
            + f" ({replay['session']['sessions']} sessions)")


def run_shop(name: str, most_users: int, summary: list) -> None:
    from jobs.models import Job
    from jobs.registry import get_kind
    from jobs.services import job_execute
    from recommender import serving
    from recommender.models import ModelVersion

    started = time.perf_counter()
    _empty_database()
    serving.forget()
    data = _shop_frames(name)
    holdout_days = _holdout_days(data.events)
    cut = pd.DatetimeIndex(data.events["occurred_at"]).max() - pd.Timedelta(days=holdout_days)
    held = _load_before(data, cut, name)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    job = Job.objects.create(kind="recommender.train", params=get_kind("recommender.train").clean_params({}))
    job = job_execute(job_id=job.pk)
    if job.status != "SUCCEEDED":
        raise SystemExit(f"{name}: training failed: {job.error_code} {job.error_message}")
    version = ModelVersion.objects.get(pk=job.result_id)
    if not version.is_active:  # judged here as served; an unserved version would answer POPULAR
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
        serving.forget()
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    prepared = _prepared(held, holdout_days)
    quality = _quality(prepared, most_users)
    replay = _session_replay(prepared, getattr(data, "truth", {}).get("session_intent"), held)
    seconds = {"load": load_seconds, "train": train_seconds, "score": time.perf_counter() - started,
               "holdout_days": holdout_days}
    _print_shop(f"{name} (job {job.result_code})", quality, version, seconds, replay, summary)


def main(argv: list[str]) -> None:
    from django.test.utils import override_settings

    from bench.recommender import _print_table

    parser = argparse.ArgumentParser(prog="bench recommender_shops")
    parser.add_argument("--shops", default=",".join(SHOPS), help=f"comma-separated, from {', '.join(SHOPS)}")
    parser.add_argument("--users", type=int, default=400, help="held-out customers asked per question and shop")
    args = parser.parse_args(argv)
    summary: list[list] = []
    with override_settings(ALLOWED_HOSTS=["*"], RECOMMENDER_ACTIVE_CHECK_SECONDS=0):
        for name in args.shops.split(","):
            run_shop(name.strip(), args.users, summary)
    print("\nserved (GraphQL answers) / best baseline, per shop, question and metric (goal >= 1.00x):")
    _print_table(["shop", "question", "metric", "served", "best baseline", "ratio"], summary)
