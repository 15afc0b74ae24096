"""Recommender benchmark: training cost, serving latency, and quality on the demo data.

(a) the `recommender.train` job end to end against bare `LightFM.fit` calls on the same matrices
    with the same epochs (the job fits twice: once to evaluate with early stopping, once on all data),
    in `--repeats` pairs run in turn;
(b) in-process serving latency p50/p99 for 10 recommendations over 50,000 products (rows interleaved in
    blocks of 50 calls, so load swings on a shared host fall on every row alike), against bare
    numpy scoring + top-k of the same arrays;
(c) a quality table on the demo data (last 30 days held out): the served model against popularity,
    buy-again, EASE and implicit ALS, for discovery and next basket.

    scripts/bench recommender [--skip-demo] [--skip-serving] [--products=50000] [--calls=2000] [--repeats=3]
"""

from __future__ import annotations

import argparse
import os
import time
from decimal import Decimal

import numpy as np


def _print_table(header: list[str], rows: list[list]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


# --- demo data ------------------------------------------------------------------------------------


def ensure_demo_data() -> str:
    from django.core.management import call_command, get_commands

    from behavior.models import Event

    if Event.objects.exists():
        return "already in the database"
    if "load_demo_data" in get_commands():
        call_command("load_demo_data")
        return "manage.py load_demo_data"
    _load_csv_into_database()
    return "bench's own CSV loader (load_demo_data was not available)"


def _load_csv_into_database() -> None:
    """Fallback loader: invoice lines of known customers as purchases, with the obvious cleaning.

    Dropped: lines without a customer, cancellations (InvoiceNo 'C...'), quantity <= 0, price <= 0,
    stock codes that are not products (not starting with five digits: postage, fees, manual...).
    Products get their most frequent description and median price; no categories (the data has none).
    """
    import pandas as pd
    from django.conf import settings

    from behavior.models import Customer, Event
    from catalog.models import Product

    df = pd.read_csv(settings.DEMO_DATA_PATH, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": "Int64"})
    df = df[df["CustomerID"].notna() & ~df["InvoiceNo"].str.startswith("C") & (df["Quantity"] > 0)
            & (df["UnitPrice"] > 0) & df["StockCode"].str.match(r"^\d{5}")]
    local = pd.to_datetime(df["InvoiceDate"]).dt.tz_localize(settings.SHOP_TIME_ZONE, ambiguous="NaT",
                                                               nonexistent="shift_forward")
    df = df.assign(occurred_at=local.dt.tz_convert("UTC")).dropna(subset=["occurred_at"])
    names = df.groupby("StockCode")["Description"].agg(lambda s: s.mode().iat[0] if s.notna().any() else "")
    prices = df.groupby("StockCode")["UnitPrice"].median()
    Product.objects.bulk_create([Product(sku=sku, name=str(names[sku])[:300] or sku, price=Decimal(f"{prices[sku]:.2f}"))
                                 for sku in names.index], batch_size=5000)
    countries = df.groupby("CustomerID")["Country"].last()
    Customer.objects.bulk_create([Customer(external_id=str(c), country=str(countries[c])) for c in countries.index],
                                 batch_size=5000)
    product_id = dict(Product.objects.values_list("sku", "id"))
    customer_id = dict(Customer.objects.values_list("external_id", "id"))
    events = [
        Event(event_id=f"B{n}", customer_id=customer_id[str(c)], product_id=product_id[s], kind="purchase",
              occurred_at=t.to_pydatetime(), quantity=int(q), unit_price=Decimal(f"{p:.2f}"), order_ref=inv)
        for n, (c, s, t, q, p, inv) in enumerate(zip(df["CustomerID"], df["StockCode"], df["occurred_at"],
                                                     df["Quantity"], df["UnitPrice"], df["InvoiceNo"]))
    ]
    Event.objects.bulk_create(events, batch_size=10_000)


# --- (a) training cost and (c) quality ------------------------------------------------------------


def bench_training_and_quality(repeats: int) -> None:
    from lightfm import LightFM

    from jobs.models import Job
    from jobs.registry import get_kind
    from jobs.services import job_execute
    from recommender import engine, selectors
    from recommender.models import ModelVersion
    from recommender.params import TrainParams, kind_weights

    params = get_kind("recommender.train").clean_params({})
    train_params = TrainParams(**params)
    threads = engine.available_threads()
    # the job's matrices
    data = engine.prepare(selectors.training_frames(kinds=sorted(kind_weights(train_params))), train_params)

    def bare_fit(matrix, epochs: int) -> float:
        positives, weights = engine.training_pair(matrix)
        model = engine.new_model(train_params)  # the job's LightFM, with the job's parameters
        started = time.perf_counter()
        model.fit(positives, user_features=data.user_features, item_features=data.item_features,
                  sample_weight=weights, epochs=epochs, num_threads=threads)
        return time.perf_counter() - started

    # Job and bare fits in turn, `repeats` times: on this shared 2-core host the same LightFM epoch takes
    # 0.7-1.5 s from one minute to the next, so one pair says little; each pair's bare fits use the epochs
    # that job ran (LightFM's hogwild threads make early stopping end on different epochs run to run).
    runs = []
    for _ in range(repeats):
        job = Job.objects.create(kind="recommender.train", params=params)
        started = time.perf_counter()
        job = job_execute(job_id=job.pk)
        job_seconds = time.perf_counter() - started
        if job.status != "SUCCEEDED":
            raise SystemExit(f"training failed: {job.error_code} {job.error_message}")
        version = ModelVersion.objects.get(pk=job.result_id)
        info = version.info
        bare_eval = bare_fit(data.fit_interactions, info["epochs_run"])
        bare_refit = bare_fit(data.all_interactions, max(info["best_epoch"], 1)) if params["refit"] else 0.0
        runs.append({"version": version, "job": job_seconds, "bare_eval": bare_eval, "bare_refit": bare_refit})

    print(f"\n(a) training job end to end vs bare LightFM.fit on the same matrices "
          f"({info['counts']['users']} users, {info['counts']['items']} items, {info['counts']['pairs']} pairs, "
          f"{threads} threads, {train_params.components} components), {repeats} pairs run in turn. The job reads "
          f"and prepares, then fits on this thread while a side thread fits the item-to-item weights and "
          f"evaluates (so its stages overlap and do not add up to the wall time)")
    stages = [("read events", "read"), ("prepare matrices", "prepare"), ("fit + early stopping", "fit"),
              ("item-to-item fit + its weight (side)", "item_item"), ("evaluate, 7 rankers (side)", "evaluate"),
              ("refit on all data", "refit"), ("item-to-item refit on all data (side)", "item_item_refit")]
    header = ["", *[f"run {n + 1}" for n in range(repeats)]]
    table = [[f"job: {label}", *[f"{r['version'].timings.get(key, 0):.2f}" for r in runs]] for label, key in stages]
    table += [
        ["job: epochs run / best", *[f"{r['version'].info['epochs_run']} / {r['version'].info['best_epoch']}"
                                     for r in runs]],
        ["job: end to end (wall)", *[f"{r['job']:.2f}" for r in runs]],
        ["bare fit, evaluation window", *[f"{r['bare_eval']:.2f}" for r in runs]],
        ["bare fit, all data", *[f"{r['bare_refit']:.2f}" for r in runs]],
        ["ratio job / bare fits", *[f"{r['job'] / (r['bare_eval'] + r['bare_refit']):.2f}x" for r in runs]],
    ]
    _print_table(header, table)
    ratios = [r["job"] / (r["bare_eval"] + r["bare_refit"]) for r in runs]
    total = sum(r["job"] for r in runs) / sum(r["bare_eval"] + r["bare_refit"] for r in runs)
    print(f"ratio job / bare fits with the same epochs: median {float(np.median(ratios)):.2f}x, "
          f"all runs together {total:.2f}x (goal <= 1.3x)")

    quality_table(data, runs[-1]["version"])


def tuned_ease(data):
    """EASE on binary purchases before the test window, its lambda chosen on the validation users:
    (scorer, lambda, seconds)."""
    from recommender import engine

    started = time.perf_counter()
    best_lam, best_val = None, -1.0
    bought = (data.purchases_before_validation > 0).astype(np.float32)
    for lam in (50.0, 200.0, 800.0):
        val = engine.evaluate(engine.ease_scorer(bought, engine.ease_fit(bought, lam)),
                              users=data.validation_users, truth=data.validation_truth,
                              excluded=data.purchases_before_validation, n_items=data.n_items,
                              with_auc=False)["ndcg@10"]
        if val > best_val:
            best_lam, best_val = lam, val
    x_test = (data.purchases_before_test > 0).astype(np.float32)
    return engine.ease_scorer(x_test, engine.ease_fit(x_test, best_lam)), best_lam, time.perf_counter() - started


def fitted_als(data):
    """implicit's ALS (64 factors, bm25-weighted purchases before the test window): (scorer, seconds)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import bm25_weight

    started = time.perf_counter()
    als = AlternatingLeastSquares(factors=64, regularization=0.05, iterations=15, random_state=0,
                                  num_threads=os.cpu_count() or 1)
    als.fit(bm25_weight(data.purchases_before_test.astype(np.float32), K1=100, B=0.8).tocsr(), show_progress=False)
    users_f, items_f = np.asarray(als.user_factors), np.asarray(als.item_factors)

    def als_scorer(rows):
        return users_f[rows] @ items_f.T

    return als_scorer, time.perf_counter() - started


def quality_table(data, version) -> None:
    from recommender import engine
    from recommender.services import served_discovery

    k = 10
    rows = []

    def add(question: str, name: str, m: dict) -> None:
        rows.append([question, name, f"{m['precision@10']:.4f}", f"{m['recall@10']:.4f}", f"{m['ndcg@10']:.4f}",
                     f"{m['auc']:.4f}", f"{m['coverage']:.3f}", m["users"]])

    ease, best_lam, ease_seconds = tuned_ease(data)
    ease_m = engine.evaluate_both(data, discovery=ease, next_basket=ease, k=k)
    als_scorer, als_seconds = fitted_als(data)
    als_m = engine.evaluate_both(data, discovery=als_scorer, next_basket=als_scorer, k=k)

    discovery, next_basket = version.metrics["discovery"], version.metrics["next_basket"]
    served = served_discovery(version.metrics)
    info = version.info
    add("discovery", f"served: LightFM + item-to-item (lambda {info.get('item_item_lambda', 0):g}, "
                     f"weight {info.get('discovery_beta', 0):g})", served)
    add("discovery", "LightFM alone", discovery["model"])
    add("discovery", "popularity", discovery["popularity"])
    add("discovery", f"EASE (lambda {best_lam:g})", ease_m["discovery"])
    add("discovery", "implicit ALS (64 factors, bm25)", als_m["discovery"])
    add("next basket", f"served: LightFM + own history (alpha {version.info['blend_alpha']:g}, "
                       f"half-life {version.info.get('history_half_life_days', 0):g} d, "
                       f"trend weight {version.info.get('trend_weight', 0):g})", next_basket["served"])
    add("next basket", "LightFM alone", next_basket["model"])
    add("next basket", "buy again", next_basket["buy_again"])
    add("next basket", "popularity", next_basket["popularity"])
    add("next basket", "EASE", ease_m["next_basket"])
    add("next basket", "implicit ALS", als_m["next_basket"])
    w = version.info["window"]
    print(f"\n(c) quality on the demo data, test window {w['test_start'][:10]} .. {w['end'][:10]} "
          f"(k = 10; users seen in training with purchases in the window; EASE {ease_seconds:.1f} s, "
          f"ALS {als_seconds:.1f} s)")
    _print_table(["question", "ranker", "P@10", "R@10", "nDCG@10", "AUC", "coverage", "users"], rows)
    for metric in ("precision@10", "ndcg@10"):
        basket_ratio = next_basket["served"][metric] / next_basket["buy_again"][metric]
        print(f"{metric}: served/popularity (discovery) {served[metric] / discovery['popularity'][metric]:.2f}x, "
              f"served/buy-again (next basket) {basket_ratio:.2f}x, "
              f"served/EASE (discovery) {served[metric] / ease_m['discovery'][metric]:.2f}x, "
              f"served/ALS (discovery) {served[metric] / als_m['discovery'][metric]:.2f}x")
    print(f"version {version.pk}: {version.status}, active={version.is_active}")


# --- (b) serving latency --------------------------------------------------------------------------


def _serving_shop(rng, n_products: int, n_customers: int, per_customer: int):
    """Categories, products and customers with purchases for the latency bench: (tops, products, customers)."""
    from datetime import datetime, timezone as tz

    from django.db import connection

    from behavior.models import Customer, Event
    from catalog.models import Category, Product

    tops = [Category.objects.create(name=f"Bench {t}", slug=f"bench-{t}") for t in range(5)]
    leaves = [Category.objects.create(name=f"Bench {t}.{s}", slug=f"bench-{t}-{s}", parent=tops[t])
              for t in range(5) for s in range(10)]
    products = Product.objects.bulk_create(
        [Product(sku=f"BENCH{n:06d}", name=f"Bench product {n}", price=Decimal("9.99"),
                 category=leaves[n % len(leaves)]) for n in range(n_products)], batch_size=10_000)
    customers = Customer.objects.bulk_create(
        [Customer(external_id=f"BENCHC{n:05d}", country="United Kingdom") for n in range(n_customers)],
        batch_size=5000)
    now = time.time()
    Event.objects.bulk_create(
        [Event(event_id=f"BENCHE{c.pk}-{j}", customer=c, product=products[int(rng.integers(n_products))],
               kind="purchase", occurred_at=datetime.fromtimestamp(now - rng.uniform(0, 3e7), tz=tz.utc),
               quantity=1, unit_price=Decimal("9.99")) for c in customers for j in range(per_customer)],
        batch_size=10_000)
    if connection.vendor == "postgresql":  # fresh rows: give the planner statistics, as autovacuum would
        with connection.cursor() as cursor:
            for table in ("catalog_product", "behavior_customer", "behavior_event"):
                cursor.execute(f"ANALYZE {table}")
    return tops, products, customers


def _random_artifact(rng, products, customers, dimensions: int):
    """A model of random vectors over the bench's products and customers, with the largest item-to-item term."""
    from recommender import engine

    item_ids = np.array(sorted(p.pk for p in products), dtype=np.int64)
    user_ids = np.array(sorted(c.pk for c in customers), dtype=np.int64)
    neighbours = engine.ITEM_ITEM_NEIGHBOURS
    return engine.Artifact(
        user_ids=user_ids, item_ids=item_ids,
        user_vectors=rng.normal(size=(len(user_ids), dimensions)).astype(np.float32),
        item_vectors=rng.normal(size=(len(item_ids), dimensions)).astype(np.float32),
        item_bias=rng.normal(size=len(item_ids)).astype(np.float32),
        user_feature_names=np.array(["country:United Kingdom"]),
        user_feature_vectors=rng.normal(size=(1, dimensions)).astype(np.float32),
        item_feature_names=np.array(["price:0"]),
        item_feature_vectors=rng.normal(size=(1, dimensions)).astype(np.float32),
        item_feature_bias=np.zeros(1, dtype=np.float32), price_edges=np.zeros(0),
        item_category=np.array([p.category_id for p in sorted(products, key=lambda p: p.pk)], dtype=np.int64),
        popular_recent=rng.random(len(item_ids)).astype(np.float32), blend_alpha=np.array(2.0, dtype=np.float32),
        history_half_life=np.array(90.0, dtype=np.float32),
        trend=rng.random(len(item_ids)).astype(np.float32), trend_weight=np.array(1.0, dtype=np.float32),
        # the discovery term at its largest: every item with ITEM_ITEM_NEIGHBOURS weights (a trained model
        # has weights for at most ITEM_ITEM_MAX_ITEMS items), so each bought item adds a full row
        item_item_indptr=np.arange(0, len(item_ids) * neighbours + 1, neighbours, dtype=np.int64),
        item_item_indices=np.sort(rng.integers(0, len(item_ids), (len(item_ids), neighbours), dtype=np.int32),
                                  axis=1).ravel(),
        item_item_weights=rng.random(len(item_ids) * neighbours, dtype=np.float32),
        discovery_beta=np.array(0.5, dtype=np.float32),
    )


def _interleaved_milliseconds(calls_by_name: dict, calls: int, block: int) -> dict[str, list[float]]:
    """Every row runs a block of calls in turn, so a swing in the host's load (other jobs on the same cores)
    falls on all rows alike rather than on whichever ran then."""
    milliseconds = {name: [] for name in calls_by_name}
    for call in calls_by_name.values():
        call(0)  # warm: the model's arrays, the statements, the category masks
    for start in range(0, calls, block):
        for name, call in calls_by_name.items():
            for i in range(start, min(start + block, calls)):
                started = time.perf_counter()
                call(i)
                milliseconds[name].append((time.perf_counter() - started) * 1000)
    return milliseconds


def _profile(calls_by_name: dict, wanted: str) -> None:
    import cProfile
    import pstats

    name, call = next((name, call) for name, call in calls_by_name.items() if wanted in name)
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [call(i) for i in range(500)])
    print(f"\nprofile of 500 calls of {name!r}:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def bench_serving(n_products: int, calls: int) -> None:
    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.db import transaction

    from recommender import engine, serving
    from recommender.models import ModelStatus, ModelVersion
    from recommender.params import TrainParams
    from recommender.selectors import recommendations_for, similar_products

    rng = np.random.default_rng(0)
    dimensions = TrainParams().components  # the default embedding size
    with transaction.atomic():  # everything below is rolled back: the demo data stays as it was
        tops, products, customers = _serving_shop(rng, n_products, n_customers=2000, per_customer=20)
        artifact = _random_artifact(rng, products, customers, dimensions)
        path, size = serving.artifact_save(name="recommender/bench-serving.npz", artifact=artifact)
        try:
            ModelVersion.objects.filter(is_active=True).update(is_active=False)
            ModelVersion.objects.create(status=ModelStatus.READY, is_active=True, artifact=path, artifact_bytes=size,
                                        params={})
            serving.forget()
            model = serving.loaded_model()
            who = [c.external_id for c in customers]

            def bare(i):
                scores = engine.score_items(model.item_vectors, model.user_vectors[i % len(who)]) + model.item_bias
                engine.top_k_1d(scores, 10)

            calls_by_name = {
                "bare numpy: score the items + top-10": bare,
                "recommendations, known customer, discovery": lambda i: recommendations_for(
                    customer_external_id=who[i % len(who)], first=10),
                "recommendations, known customer, next basket": lambda i: recommendations_for(
                    customer_external_id=who[i % len(who)], first=10, exclude_purchased=False),
                "recommendations, known customer, in a category": lambda i: recommendations_for(
                    customer_external_id=who[i % len(who)], first=10, category_id=tops[i % 5].pk),
                "recommendations, anonymous": lambda i: recommendations_for(customer_external_id=None, first=10),
                "recommendations, anonymous, in a category": lambda i: recommendations_for(
                    customer_external_id=None, first=10, category_id=tops[i % 5].pk),
                "similarProducts": lambda i: similar_products(sku=f"BENCH{(i * 7919) % n_products:06d}", first=10),
            }
            block = 50
            milliseconds = _interleaved_milliseconds(calls_by_name, calls, block)
            base = float(np.percentile(milliseconds["bare numpy: score the items + top-10"], 50))
            rows = [[name, f"{np.percentile(v, 50):.3f}", f"{np.percentile(v, 99):.3f}",
                     f"{np.percentile(v, 50) / base:.1f}x"] for name, v in milliseconds.items()]
            print(f"\n(b) serving latency in-process, {n_products} products, {dimensions} dimensions, {calls} calls "
                  f"each, interleaved in blocks of {block} (includes the database reads: the customer with their "
                  f"purchases, the category tree when filtering, the 10 products; DEBUG={settings.DEBUG})")
            _print_table(["call", "p50 ms", "p99 ms", "p50 / bare"], rows)
            profiled = os.environ.get("BENCH_PROFILE")  # e.g. BENCH_PROFILE=discovery: where that call's time goes
            if profiled:
                _profile(calls_by_name, profiled)
        finally:
            serving.forget()
            default_storage.delete(path)
            transaction.set_rollback(True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench recommender")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-serving", action="store_true")
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="training job / bare fit pairs, run in turn")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.1f}")
    if not args.skip_demo:
        t = time.perf_counter()
        source = ensure_demo_data()
        print(f"demo data: {source} ({time.perf_counter() - t:.1f} s)")
        bench_training_and_quality(args.repeats)
    if not args.skip_serving:
        bench_serving(args.products, args.calls)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
