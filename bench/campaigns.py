"""Campaigns at scale: launch 1M members with 3 picks each, and results over 10M events.

    DATABASE_URL=postgres://root@127.0.0.1:5432/h18 .venv/bin/python -m bench campaigns [--customers N]
        [--events-per-customer E] [--picks K] [--items I] [--floors]

Data (generated set-based with generate_series once, reused by later runs): N customers in a
segmentation run of five segments (memberships written directly), I products, E events per customer
(30 % purchases, the rest views) spread over the 90-day pre-period and the 28-day window, and an
active recommender version with random 32-dimensional vectors for every customer and product (its
artifact written as a trained one is). The launch runs as a worker runs it (Job row + job_execute);
the results as the worker's task does (``results_compute``).

Baselines, measured in the same run on the same data:
* launch: bare numpy - the hash split of the same ids, then ``U @ V.T + bias`` and k argmax passes per
  block (no exclusions, no reads, no writes);
* results: bare pandas - the members' purchases already in memory, a groupby per member, the same tests.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, connection, transaction

from behavior.models import Customer, Event
from campaigns import engine, pgbinary
from campaigns.measuring import results_compute
from campaigns.models import Campaign, CampaignMember, CampaignPick
from campaigns.services import CampaignSpec, campaign_create
from catalog.models import Category, Product
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from recommender.models import ModelStatus, ModelVersion
from segments.models import RunStatus, Segment, SegmentationRun, SegmentMembership

START = datetime(2025, 3, 1, tzinfo=timezone.utc)
END = START + timedelta(days=28)
PRE_DAYS = 90
DIM = 32
LABELS = ["Champions", "Loyal", "At risk", "Hibernating", "New"]


def _loaded(customers: int, events: int) -> bool:
    return (Customer.objects.filter(external_id__startswith="K").count() == customers
            and Event.objects.filter(event_id__startswith="KE").count() == customers * events)


def _generate_shop(cur, customers: int, events_per_customer: int, items: int) -> None:
    c, p, e, cu = (Category._meta.db_table, Product._meta.db_table, Event._meta.db_table, Customer._meta.db_table)
    for model in (CampaignPick, CampaignMember, Campaign.segments.through, Campaign, SegmentMembership, Segment,
                  SegmentationRun, Event, Customer, Product, Category, ModelVersion):
        cur.execute(f"DELETE FROM {model._meta.db_table}")
    cur.execute("SELECT setseed(0.18)")
    cur.execute(f"INSERT INTO {c} (name, slug, parent_id) SELECT 'Bench ' || g, 'kbench-' || g, NULL "
                "FROM generate_series(0, 19) g")
    cur.execute(f"""INSERT INTO {p} (sku, name, description, category_id, brand, price, currency, stock, attributes,
                                    is_active, created_at, updated_at)
                    SELECT 'KSKU' || g, 'Bench product ' || g, '', (SELECT min(id) FROM {c}) + g %% 20, '', 10, 'GBP',
                           0, '{{}}', true, now(), now() FROM generate_series(0, %s) g""", [items - 1])
    cur.execute(f"""INSERT INTO {cu} (external_id, country, signed_up_at, attributes, created_at)
                    SELECT 'K' || lpad(g::text, 7, '0'), CASE WHEN g %% 5 = 0 THEN 'Germany' ELSE 'United Kingdom' END,
                           NULL, '{{}}', now() FROM generate_series(1, %s) g""", [customers])


EVENTS_SQL = """
    INSERT INTO {e} (event_id, customer_id, product_id, kind, occurred_at, quantity, unit_price, rating, order_ref,
                     session_id)
    SELECT 'KE' || cu.id || '-' || n, cu.id, pm.id + floor(random() * %(items)s)::int,
           CASE WHEN n * 10 < %(per)s * 3 THEN 'purchase' ELSE 'view' END,
           %(since)s::timestamptz + make_interval(secs => floor(random() * %(span)s)),
           1 + floor(random() * 3)::int,
           CASE WHEN n * 10 < %(per)s * 3 THEN round((5 + random() * 45)::numeric, 2) END, NULL,
           CASE WHEN n * 10 < %(per)s * 3 THEN 'KO' || cu.id || '-' || n ELSE '' END, ''
      FROM {cu} cu CROSS JOIN generate_series(0, %(per)s - 1) n CROSS JOIN (SELECT min(id) AS id FROM {p}) pm
     WHERE cu.id >= %(low)s AND cu.id < %(high)s"""


def _generate_events(customers: int, events_per_customer: int, items: int) -> None:
    """E events per customer (30 % purchases; times uniform over the pre-period and the window), in chunks of
    100,000 customers, each its own transaction with the per-row reference triggers off (the rows reference
    what was just generated)."""
    sql = EVENTS_SQL.format(e=Event._meta.db_table, cu=Customer._meta.db_table, p=Product._meta.db_table)
    low = Customer.objects.order_by("id").values_list("id", flat=True).first()
    params = {"items": items, "per": events_per_customer, "since": START - timedelta(days=PRE_DAYS),
              "span": (PRE_DAYS + 28) * 86400}
    # The time indexes take each row at a random place: dropped for the load and built once after it (sorted).
    with connection.schema_editor() as editor:
        for index in Event._meta.indexes:
            editor.remove_index(Event, index)
    for start in range(low, low + customers, 100_000):
        if Event.objects.filter(event_id=f"KE{start}-0").exists():  # done by an earlier, interrupted run
            continue
        for attempt in range(5):
            try:
                with transaction.atomic(), connection.cursor() as cur:
                    cur.execute("SET LOCAL session_replication_role = replica")
                    cur.execute(sql, {**params, "low": start, "high": start + 100_000})
                break
            except OperationalError:  # e.g. the server's lock table full of other sessions' locks: wait, retry
                if attempt == 4:
                    raise
                time.sleep(10)
        print(f"  events for customers {start - low + 100_000:,} / {customers:,}", flush=True)
    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '1GB'")
    with connection.schema_editor() as editor:
        for index in Event._meta.indexes:
            editor.add_index(Event, index)
    print("  event indexes rebuilt", flush=True)


def _generate_segments(cur) -> None:
    run = SegmentationRun.objects.create(status=RunStatus.SUCCEEDED, algorithm="kmeans", as_of=date(2025, 2, 28),
                                         customers=Customer.objects.count(), k=5, finished_at=START)
    segments = [Segment.objects.create(run=run, cluster=i, label=label, size=0, recency=0, frequency=0, monetary=0,
                                       r_score=3, f_score=3, m_score=3, revenue_share=0.2)
                for i, label in enumerate(LABELS)]
    cur.execute(f"""INSERT INTO {SegmentMembership._meta.db_table} (run_id, segment_id, customer_id, recency,
                        frequency, monetary, r_score, f_score, m_score, rfm_score)
                    SELECT %s, %s + (cu.id %% 5), cu.id, floor(random() * 300)::int, 1 + floor(random() * 10)::int,
                           round((random() * 500)::numeric, 2), 1 + cu.id %% 5, 1 + (cu.id / 5) %% 5, 3, '333'
                      FROM {Customer._meta.db_table} cu""", [run.pk, segments[0].pk])


def _write_model(customers: np.ndarray, items: np.ndarray) -> None:
    ModelVersion.objects.all().delete()
    rng = np.random.default_rng(0)
    arrays = {
        "user_ids": customers, "item_ids": items,
        "user_vectors": rng.normal(0, 0.3, (len(customers), DIM)).astype(np.float32),
        "item_vectors": rng.normal(0, 0.3, (len(items), DIM)).astype(np.float32),
        "item_bias": rng.normal(0, 0.1, len(items)).astype(np.float32),
        "item_category": np.zeros(len(items), dtype=np.int64),
        "user_feature_names": np.array(["country:Germany"]), "user_feature_vectors": np.zeros((1, DIM), np.float32),
        "item_feature_names": np.array(["none"]), "item_feature_vectors": np.zeros((1, DIM), np.float32),
        "item_feature_bias": np.zeros(1, np.float32), "price_edges": np.zeros(0),
        "popular_recent": rng.random(len(items)).astype(np.float32), "blend_alpha": np.float64(1.0),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = default_storage.save("bench/campaigns-model.npz", ContentFile(buffer.getvalue()))
    ModelVersion.objects.create(status=ModelStatus.READY, is_active=True, artifact=path, n_users=len(customers),
                                n_items=len(items))


def generate(customers: int, events_per_customer: int, items: int) -> None:
    started = time.perf_counter()
    if Customer.objects.filter(external_id__startswith="K").count() != customers:
        with transaction.atomic(), connection.cursor() as cur:
            _generate_shop(cur, customers, events_per_customer, items)
            _generate_segments(cur)
    _generate_events(customers, events_per_customer, items)
    print(f"  shop: {customers:,} customers, {customers * events_per_customer:,} events in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cur:
        for model in (Event, Customer, SegmentMembership):
            cur.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    _write_model(np.sort(np.fromiter(Customer.objects.values_list("id", flat=True), dtype=np.int64)),
                 np.sort(np.fromiter(Product.objects.values_list("id", flat=True), dtype=np.int64)))
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)


def numpy_launch_baseline(external_ids: list[str], picks: int) -> float:
    """The hash split and the model's top-k for every member, in bare numpy (arrays already in memory)."""
    model = ModelVersion.objects.get(is_active=True)
    with default_storage.open(model.artifact, "rb") as fh, np.load(io.BytesIO(fh.read())) as npz:
        users, items, bias = npz["user_vectors"], npz["item_vectors"], npz["item_bias"]
    started = time.perf_counter()
    engine.control_mask(1, external_ids, 0.1)
    for start in range(0, len(users), 4096):
        scores = users[start:start + 4096] @ items.T + bias
        rows = np.arange(len(scores))
        for _ in range(picks):  # the best, then the next best: k argmax passes (faster than argpartition for k=3)
            best = scores.argmax(axis=1)
            scores[rows, best] = -np.inf
    return time.perf_counter() - started


def pandas_results_baseline(campaign: Campaign) -> float:
    """Per-member outcomes by a pandas groupby over the members' purchases already in memory, then the same tests."""
    members = pd.DataFrame.from_records(CampaignMember.objects.filter(campaign=campaign)
                                        .values_list("customer_id", "group").iterator(chunk_size=50_000),
                                        columns=["customer_id", "group"])
    buffer = io.BytesIO()
    with connection.cursor() as cur, cur.cursor.copy(
            f"COPY (SELECT customer_id, occurred_at >= %s, (quantity * unit_price)::float8, order_ref "
            f"FROM {Event._meta.db_table} WHERE kind = 'purchase' AND occurred_at >= %s AND occurred_at < %s) "
            "TO STDOUT WITH (FORMAT csv)", [START, START - timedelta(days=PRE_DAYS), END]) as copy:
        for chunk in copy:
            buffer.write(chunk)
    buffer.seek(0)
    purchases = pd.read_csv(buffer, names=["customer_id", "in_window", "amount", "order_ref"], engine="pyarrow")
    started = time.perf_counter()
    joined = purchases.merge(members, on="customer_id")
    window = joined[joined["in_window"] == "t"]
    per_member = pd.DataFrame({
        "revenue": window.groupby("customer_id")["amount"].sum(),
        "orders": window.groupby("customer_id")["order_ref"].nunique(),
        "pre": joined[joined["in_window"] == "f"].groupby("customer_id")["amount"].sum(),
    })
    full = members.set_index("customer_id").join(per_member).fillna(0)
    engine.results_from_arrays(engine.GroupArrays(
        control=(full["group"] == "CONTROL").to_numpy(), orders=full["orders"].to_numpy(dtype=np.int64),
        revenue=full["revenue"].to_numpy(), pre_revenue=full["pre"].to_numpy(),
        hit=np.zeros(len(full), dtype=bool)), holdout_share=campaign.holdout_share)
    return time.perf_counter() - started


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def floors(campaign: Campaign) -> None:
    """What the launch's write and the results' read cannot go below on this host: the same rows COPYed into
    tables without indexes (TEMP, logged) and with the real ones; the purchase scan, join and one column."""
    m, p, e = CampaignMember._meta.db_table, CampaignPick._meta.db_table, Event._meta.db_table
    members = pgbinary.columns_out(f"SELECT id, customer_id FROM {m} WHERE campaign_id = %s", [campaign.pk],
                                   [("id", "int8"), ("customer_id", "int8")])
    picks = pgbinary.columns_out(f"SELECT p.id, p.member_id, p.product_id, p.rank, p.score FROM {p} p "
                                 f"JOIN {m} m ON m.id = p.member_id AND m.campaign_id = %s", [campaign.pk],
                                 [("id", "int8"), ("member_id", "int8"), ("product_id", "int8"), ("rank", "int2"),
                                  ("score", "float8")])
    groups = np.where(np.arange(len(members["id"])) % 10 == 0, "CONTROL", "TREATMENT")
    started = time.perf_counter()
    member_rows = pgbinary.encode([(members["id"], ">i8"), (np.full(len(members["id"]), campaign.pk), ">i8"),
                                   (members["customer_id"], ">i8")], text=groups)
    pick_rows = pgbinary.encode([(picks[name], kind) for name, kind in (
        ("id", ">i8"), ("member_id", ">i8"), ("product_id", ">i8"), ("rank", ">i2"), ("score", ">f8"))])
    print(f"floors  encoding {len(member_rows) / 1e6:.0f} + {len(pick_rows) / 1e6:.0f} MB of binary rows: "
          f"{time.perf_counter() - started:.2f} s", flush=True)
    for label, kind, like in (("TEMP, no index", "TEMP", ""), ("logged, no index", "", ""),
                              ("logged, the real indexes and constraints", "",
                               "INCLUDING INDEXES INCLUDING CONSTRAINTS")):
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(f"CREATE {kind} TABLE floor_members (LIKE {m} {like})")
                cur.execute(f"CREATE {kind} TABLE floor_picks (LIKE {p} {like})")
            member_seconds = _timed(lambda: pgbinary.copy_in("floor_members", ["id", "campaign_id", "customer_id",
                                                                               "group"], member_rows))
            pick_seconds = _timed(lambda: pgbinary.copy_in("floor_picks", ["id", "member_id", "product_id", "rank",
                                                                           "score"], pick_rows))
            with connection.cursor() as cur:
                cur.execute("DROP TABLE floor_members, floor_picks")
        print(f"        COPY into {label:42} members {member_seconds:5.2f} s  picks {pick_seconds:5.2f} s", flush=True)
    where = "e.kind = 'purchase' AND e.occurred_at >= %s AND e.occurred_at < %s"
    span = [campaign.starts_at - timedelta(days=PRE_DAYS), campaign.ends_at]
    join = f"{e} e JOIN {m} m ON m.customer_id = e.customer_id AND m.campaign_id = %s WHERE {where}"
    for label, sql, params in (
            ("scan of the purchases (count)", f"SELECT count(*) FROM {e} e WHERE {where}", span),
            ("+ hash join with the members (count)", f"SELECT count(*) FROM {join}", [campaign.pk, *span]),
            ("+ one aggregated int8 column", f"SELECT length(string_agg(int8send(m.id), '')) FROM {join}",
             [campaign.pk, *span])):
        def run(sql=sql, params=params):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("SET LOCAL work_mem = '256MB'")
                cur.execute("SET LOCAL jit = off")
                cur.execute(sql, params)
                cur.fetchall()
        print(f"        read: {label:45} {_timed(run):5.2f} s", flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench campaigns")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events-per-customer", type=int, default=10)
    parser.add_argument("--picks", type=int, default=3)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--floors", action="store_true",
                        help="also measure the floors: bare COPYs of the same rows, the bare purchase scan and join")
    args = parser.parse_args(argv)
    if not _loaded(args.customers, args.events_per_customer):
        print("generating the shop (once; reused by later runs)", flush=True)
        generate(args.customers, args.events_per_customer, args.items)
    for model in (CampaignPick, CampaignMember, Campaign.segments.through, Campaign):
        model.objects.all()._raw_delete(connection.alias)
    # The launch queues the results for a worker (the in-memory broker keeps the message): timed separately.
    from config.celery import app

    app.conf.task_always_eager = False
    print(f"data: {Customer.objects.count():,} customers, {Event.objects.count():,} events", flush=True)

    campaign = campaign_create(spec=CampaignSpec(
        name="Bench", segment_ids=list(Segment.objects.values_list("id", flat=True)), starts_at=START, ends_at=END,
        picks=args.picks, holdout_share=0.1, seed=1))
    job = Job.objects.create(kind="campaigns.launch", params={"campaign_id": campaign.pk})
    started = time.perf_counter()
    job = job_execute(job_id=job.pk)
    launch = time.perf_counter() - started
    if job.status != JobStatus.SUCCEEDED:
        raise SystemExit(f"launch failed: {job.error_code} {job.error_message}")
    campaign.refresh_from_db()
    external_ids = list(Customer.objects.order_by("id").values_list("external_id", flat=True))
    baseline = numpy_launch_baseline(external_ids, args.picks)
    timings = campaign.launch_timings
    print(f"launch  {campaign.members_count:,} members x {args.picks} picks: {launch:6.1f} s  (goal <= 60 s)   "
          f"numpy baseline {baseline:5.1f} s   ratio {launch / baseline:4.1f}x", flush=True)
    print(f"        stages {timings}  (inside numpy: {timings.get('numpy')} s)", flush=True)
    print(f"        host load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)

    started = time.perf_counter()
    results_compute(campaign_id=campaign.pk)
    results = time.perf_counter() - started
    baseline = pandas_results_baseline(campaign)
    campaign.refresh_from_db()
    groups = {g["group"]: g["members"] for g in campaign.results["groups"]}
    print(f"results {sum(groups.values()):,} members, {Event.objects.count():,} events: {results:6.2f} s  "
          f"(goal <= 5 s)   pandas baseline {baseline:5.2f} s   ratio {results / baseline:4.1f}x", flush=True)
    print(f"        groups {groups}, srm p {campaign.results['srm_p_value']:.3f}", flush=True)
    print(f"        stages {campaign.results['stage_seconds']}", flush=True)
    print(f"        host load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    if args.floors:
        floors(campaign)
