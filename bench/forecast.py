"""Forecasting end to end on 10,000 daily series vs the same models called directly on the same arrays.

Data: generated arrays (a tenth smooth, with a weekly profile and a trend, the rest intermittent), written
as purchase and return events (COPY) into the benchmark's PostgreSQL database under a two-level category
tree. The series are the shop total, every category and every product: 1 + 40 + products = --series.

- ours: ``forecasting.services.forecast_run(all_products=True)``: series read from the daily rollups (built
  after the COPY, as an import keeps them, and not timed), classify,
  backtest, choose, forecast, and the run with its 10,000 rows written in one transaction.
- library only: the same arrays (from the generator, not the database) straight into
  ``StatsForecast.cross_validation`` + ``forecast`` (smooth and sparse panels, the same models and
  settings) and the LightGBM backtest (``engine.gbm_run``: the lightgbm calls and their lag features; no
  library does that part for us).
Goal: ours / library <= 1.5, i.e. series building, scoring, choosing and storage cost little.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

WEEKLY = np.array([1.0, 1.1, 1.05, 1.15, 1.4, 0.75, 0.55])
START = date(2024, 1, 1)


def generate(products: int, days: int, smooth_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per product: net daily units (n, days), and returned units (n, days)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    smooth = rng.random(products) < smooth_share
    level = np.where(smooth, rng.uniform(5, 60, products), rng.uniform(0.05, 0.5, products))
    trend = rng.uniform(-0.001, 0.003, products)
    mean = level[:, None] * (1 + trend[:, None] * t) * WEEKLY[(t + START.weekday()) % 7]
    bought = rng.poisson(mean)
    returned = np.minimum(bought, rng.binomial(bought, 0.03))
    return (bought - returned).astype(float), returned.astype(float)


def write(products: int, days: int, net: np.ndarray, returned: np.ndarray) -> list[int]:
    from django.db import connection, transaction

    from analytics.services import rollups_rebuild
    from catalog.models import Category, Product

    with connection.cursor() as cur:
        cur.execute("TRUNCATE behavior_event, forecasting_forecastseries, forecasting_forecastrun, "
                    "catalog_product, catalog_category RESTART IDENTITY CASCADE")
    with transaction.atomic():
        roots = Category.objects.bulk_create([Category(name=f"Dept {i}", slug=f"dept-{i}") for i in range(10)])
        leaves = Category.objects.bulk_create([Category(name=f"Dept {i} / {j}", slug=f"dept-{i}-{j}", parent=root)
                                               for i, root in enumerate(roots) for j in range(3)])
        rows = Product.objects.bulk_create(
            [Product(sku=f"B{i:06d}", name=f"Bench {i}", price="2.00", category=leaves[i % len(leaves)])
             for i in range(products)], batch_size=5000)
    ids = [p.pk for p in rows]
    bought = net + returned
    with connection.cursor() as cur, cur.copy(
        "COPY behavior_event (event_id, product_id, kind, occurred_at, quantity, unit_price, order_ref, session_id) "
        "FROM STDIN"
    ) as copy:
        for kind, array in (("purchase", bought), ("return", returned)):
            p_idx, d_idx = np.nonzero(array)
            for p, d in zip(p_idx.tolist(), d_idx.tolist(), strict=True):
                when = datetime.combine(START + timedelta(days=d), datetime.min.time(), tzinfo=timezone.utc)
                copy.write_row((f"{kind[0]}{p}-{d}", ids[p], kind, when + timedelta(hours=12), int(array[p, d]),
                                "2.00", "", ""))
    with connection.cursor() as cur:
        cur.execute("ANALYZE behavior_event")
    tic = time.perf_counter()
    rollups_rebuild()  # what an import keeps current; the forecast reads its series from the rollups
    print(f"rollups built in {time.perf_counter() - tic:.1f} s (ingestion's cost, not timed below)", flush=True)
    return ids


def library_only(values: np.ndarray, config) -> dict[str, float]:
    """The same models on the same arrays, straight through the libraries."""
    from statsforecast import StatsForecast

    from forecasting import engine

    timings = {}
    sparse = engine.average_demand_interval(values) > config.sparse_adi
    start = pd.Timestamp(START)
    for kind, rows in (("smooth", ~sparse), ("sparse", sparse)):
        block = values[rows]
        n, t = block.shape
        df = pd.DataFrame({"unique_id": np.repeat(np.arange(n), t),
                           "ds": np.tile(pd.date_range(start, periods=t, freq="D").values, n),
                           "y": block.reshape(-1)})
        tic = time.perf_counter()
        sf = StatsForecast(models=engine.statsforecast_models(kind, config), freq="D", n_jobs=config.n_jobs)
        sf.cross_validation(df=df, h=config.horizon, n_windows=config.n_windows, step_size=config.horizon,
                            level=[config.level], refit=kind != "smooth")
        sf.forecast(df=df, h=config.horizon, level=[config.level])
        timings[f"statsforecast_{kind}"] = time.perf_counter() - tic
    tic = time.perf_counter()
    engine.gbm_run(values[~sparse], start, config)
    timings["lightgbm"] = time.perf_counter() - tic
    return timings


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench forecast")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=273)
    parser.add_argument("--smooth-share", type=float, default=0.1)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from catalog.models import Category
    from forecasting import engine
    from forecasting.selectors import daily_series
    from forecasting.params import ForecastParams
    from forecasting.services import forecast_run

    products = args.series - 41
    net, returned = generate(products, args.days, args.smooth_share, args.seed)
    tic = time.perf_counter()
    ids = write(products, args.days, net, returned)
    print(f"wrote {int((net + returned > 0).sum() + (returned > 0).sum()):,} events for {products:,} products "
          f"x {args.days} days in {time.perf_counter() - tic:.1f} s (not timed below)", flush=True)

    # The same arrays the database should give back: total, categories (children roll up), products.
    leaf_of = np.arange(products) % 30
    parents = dict(Category.objects.values_list("id", "parent_id"))
    cat_ids = sorted(parents)
    leaves = [pk for pk in cat_ids if parents[pk] is not None]
    cat_values = {pk: np.zeros(args.days) for pk in cat_ids}
    for j, pk in enumerate(leaves):
        part = net[leaf_of == j].sum(axis=0)
        cat_values[pk] += part
        cat_values[parents[pk]] += part
    values = np.vstack([net.sum(axis=0)[None], np.vstack([cat_values[pk] for pk in cat_ids]), net])

    import lightgbm  # noqa: F401 - import both libraries before timing either side (a one-off process cost)
    import statsforecast  # noqa: F401

    tic = time.perf_counter()
    params = ForecastParams(horizon=args.horizon, all_products=True, history_days=91)
    run = forecast_run(params=params, n_jobs=args.n_jobs)
    ours = time.perf_counter() - tic
    panel = daily_series(start=START, end=START + timedelta(days=args.days - 1),
                         product_ids=ids)  # check, not timed: the database gives back the generated arrays
    assert np.array_equal(panel.values, values), "series built in the database differ from the generated arrays"
    sold = int((net.sum(axis=1) > 0).sum())
    assert run.series_count == 1 + len(cat_ids) + sold, run.series_count

    config = engine.EngineConfig(horizon=params.horizon, n_windows=params.n_windows, level=params.level,
                                 n_jobs=args.n_jobs)
    in_run = {1 + len(cat_ids) + i for i in range(products) if net[i].sum() > 0}
    keep = [i for i in range(len(values)) if i <= len(cat_ids) or i in in_run]
    lib = library_only(values[keep], config)
    library = sum(lib.values())

    n = run.series_count
    print(f"\n{n:,} series ({run.summary.get('sparse')} sparse), {args.days} days, horizon {args.horizon}, "
          f"3 origins, n_jobs {args.n_jobs}; chosen: {run.summary.get('models')}")
    print(f"{'stage':<34}{'seconds':>10}{'ms/series':>12}")
    for name, seconds in run.timings.items():
        print(f"  ours: {name:<28}{seconds:>10.2f}{1000 * seconds / n:>12.2f}")
    print(f"{'ours, end to end':<34}{ours:>10.2f}{1000 * ours / n:>12.2f}")
    for name, seconds in lib.items():
        print(f"  library: {name:<25}{seconds:>10.2f}{1000 * seconds / n:>12.2f}")
    print(f"{'library only, same arrays':<34}{library:>10.2f}{1000 * library / n:>12.2f}")
    print(f"\nratio ours / library = {ours / library:.2f} (goal <= 1.5)")
