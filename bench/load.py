"""Load: the production server (gunicorn as `scripts/serve` runs it) under concurrent clients.

    scripts/bench load [--seconds 10] [--clients 16,64] [--soak 300] [--workers N]

A shop of 2,000 customers, 300 products and about 60,000 events (the synthetic generator) with a trained
recommender is served by gunicorn with its documented worker count (two per core) on PostgreSQL and
Redis. For each of 16 and 64 concurrent clients (threads with keep-alive connections, in one client
process) each request kind runs for `--seconds`:

- `hand`: a hand-written Django view with the same first page of products (the baseline, same server);
- `products`: the GraphQL catalogue page (20 products with category, totalCount);
- `recommendations`: a named customer's 10 recommendations, through an API key;
- `salesSummary`: the last 30 days' KPIs, through an API key with analytics:read;
- `ingestEvents x100`: batches of 100 new events, through an API key with events:write;
- `readyz`: the readiness probe (PostgreSQL and Redis).

It prints throughput, p50/p99 latency and errors per row, with the ratio of p50 and of throughput to
`hand` in the same run. Every worker is warmed before it takes requests (config/warmup.py). Then a soak
(`--soak` seconds, all kinds mixed, 16 clients) on a second server with max_requests recycling off (a
recycled worker would hide a leak) samples the workers' summed RSS every 10 s after a 30 s warm-up. Goals (issue 16): 0 errors, p99 <= 250 ms at 16
clients on a 2-core machine, RSS growth <= 5 % over a 5-minute soak.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
_ids = itertools.count()


def seed() -> dict:
    """The shop (kept when there), a trained model, and API keys; returns what the clients need."""
    from access.services import api_key_create
    from behavior.models import Customer, Event
    from behavior.services import synthetic_load
    from behavior.synthetic import SyntheticSpec
    from recommender.models import ModelVersion
    from recommender.services import recommender_train

    if not Event.objects.exists():
        synthetic_load(spec=SyntheticSpec(seed=7, customers=2000, products=300, days=180, events_per_customer=30))
    if not ModelVersion.objects.filter(is_active=True).exists():
        from jobs.registry import get_kind

        recommender_train(params=get_kind("recommender.train").clean_params({"epochs": 5}))
    key = api_key_create(name="load bench", scopes=["events:write", "recommendations:read", "analytics:read"],
                         rate_limit_per_minute=10_000_000)[1]
    customers = list(Customer.objects.order_by("pk").values_list("external_id", flat=True)[:200])
    from catalog.models import Product

    skus = list(Product.objects.order_by("pk").values_list("sku", flat=True)[:50])
    return {"key": key, "customers": customers, "skus": skus}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int | None, *, max_requests: int | None = None) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.load_settings", "DEBUG": "false",
           "SECRET_KEY": "load-bench-" + "k" * 50, "ALLOWED_HOSTS": "127.0.0.1", "PORT": str(port),
           "GUNICORN_ACCESS_LOG": "", "GUNICORN_LOG_LEVEL": "warning", "CELERY_TASK_ALWAYS_EAGER": "false"}
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    if max_requests is not None:
        env["GUNICORN_MAX_REQUESTS"] = str(max_requests)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=BASE_DIR, env=env,
                   check=True)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"], cwd=BASE_DIR,
                            env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def worker_pids(master: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


# --- requests -------------------------------------------------------------------------------------

PRODUCTS = "{ products(first: 20) { totalCount edges { node { id sku name price category { name } } } } }"
RECS = "query($c: String!) { recommendations(customerExternalId: $c, first: 10) { strategy items { product { sku } score } } }"
SUMMARY = 'query { salesSummary(from: "%s", to: "%s") { revenue orders customers previous { revenue } } }'
INGEST = "mutation($e: [EventInput!]!) { ingestEvents(events: $e) { accepted rejected } }"


def request_for(kind: str, data: dict) -> tuple[str, str, bytes | None, dict]:
    """(method, path, body, headers) of one request of ``kind``."""
    auth = {"Authorization": f"Bearer {data['key']}", "Content-Type": "application/json"}
    if kind == "hand":
        return "GET", "/bench/hand-products/", None, {}
    if kind == "readyz":
        return "GET", "/readyz", None, {}
    if kind == "products":
        return "POST", "/graphql/", json.dumps({"query": PRODUCTS}).encode(), {"Content-Type": "application/json"}
    if kind == "recommendations":
        customer = data["customers"][next(_ids) % len(data["customers"])]
        return "POST", "/graphql/", json.dumps({"query": RECS, "variables": {"c": customer}}).encode(), auth
    if kind == "salesSummary":
        return "POST", "/graphql/", json.dumps({"query": SUMMARY % data["window"]}).encode(), auth
    n = next(_ids)
    events = [{"eventId": f"load-{os.getpid()}-{n}-{i}", "customerExternalId": data["customers"][i % 200],
               "productSku": data["skus"][i % len(data["skus"])], "kind": "VIEW",
               "occurredAt": data["now"]} for i in range(100)]
    return "POST", "/graphql/", json.dumps({"query": INGEST, "variables": {"e": events}}).encode(), auth


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _ok(status: int, body: bytes) -> bool:
    return status == 200 and b'"errors"' not in body


def hammer(port: int, kinds: list[str], clients: int, seconds: float, data: dict) -> Tally:
    tally = Tally()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        errors = 0
        for turn in itertools.count(n):
            if time.monotonic() >= stop:
                break
            method, url, body, headers = request_for(kinds[turn % len(kinds)], data)
            started = time.perf_counter()
            try:
                conn.request(method, url, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                ok = _ok(response.status, payload)
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - started)
            errors += not ok
        with tally.lock:
            tally.latencies += mine
            tally.errors += errors

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def _row(name: str, clients: int, tally: Tally, seconds: float, hand: tuple[float, float] | None) -> list:
    lat = sorted(tally.latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    rps = len(lat) / seconds
    ratio = f"{p50 / hand[0]:.2f} / {rps / hand[1]:.2f}" if hand else "1.00 / 1.00"
    return [name, clients, f"{rps:.0f}", f"{p50:.1f}", f"{p99:.1f}", tally.errors, ratio]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench load", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="16,64")
    parser.add_argument("--soak", type=float, default=300.0, help="seconds of mixed load for the RSS check")
    parser.add_argument("--workers", type=int, default=None, help="default: two per core (config/gunicorn.conf.py)")
    args = parser.parse_args(argv)

    from django.db import connections

    from behavior.selectors import shop_now

    data = seed()
    now = shop_now()
    data["now"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    data["window"] = ((now.date().replace(day=1)).isoformat(), now.date().isoformat())
    connections.close_all()
    proc, port = start_server(args.workers)
    try:
        workers = worker_pids(proc.pid)
        print(f"gunicorn: {len(workers)} sync workers on {os.cpu_count()} cores; {args.seconds:.0f} s per row")
        hammer(port, ["hand", "products", "recommendations", "salesSummary"], 8, 3, data)  # warm-up
        header = ["kind", "clients", "req/s", "p50 ms", "p99 ms", "errors", "vs hand (p50 / req/s)"]
        rows = []
        for clients in [int(c) for c in args.clients.split(",")]:
            hand = hammer(port, ["hand"], clients, args.seconds, data)
            hand_row = _row("hand view", clients, hand, args.seconds, None)
            rows.append(hand_row)
            base = (float(hand_row[3]), float(hand_row[2]))
            for kind in ["products", "recommendations", "salesSummary", "ingestEvents x100", "readyz"]:
                tally = hammer(port, [kind], clients, args.seconds, data)
                rows.append(_row(kind, clients, tally, args.seconds, base))
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for row in [header, *rows]:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    finally:
        proc.terminate()
        proc.wait(30)
    soak(args, data)


MIXED = ["products", "recommendations", "salesSummary", "ingestEvents x100", "hand"]


def soak(args: argparse.Namespace, data: dict) -> None:
    """RSS over ``--soak`` seconds of mixed load at 16 clients, on a server started with max_requests
    recycling off (a recycled worker would hide a leak), after 30 s of the same load (a worker's RSS rises to
    its working size on its first requests of each kind). RSS of all workers summed, sampled every 10 s."""
    proc, port = start_server(args.workers, max_requests=0)
    try:
        hammer(port, MIXED, 16, 30, data)
        workers = worker_pids(proc.pid)
        samples = [rss_mb(workers)]
        tallies = []
        ends = time.monotonic() + args.soak
        while (left := ends - time.monotonic()) > 1:
            tallies.append(hammer(port, MIXED, 16, min(10.0, left), data))
            samples.append(rss_mb(worker_pids(proc.pid)))
        if sorted(worker_pids(proc.pid)) != sorted(workers):
            print("soak: a worker was replaced during the soak (crash or timeout)")
        lat = sorted(x for t in tallies for x in t.latencies)
        errors = sum(t.errors for t in tallies)
        print(f"soak: {args.soak:.0f} s mixed at 16 clients (max_requests off, after a 30 s warm-up), "
              f"{len(lat)} requests, {errors} errors, p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms")
        print(f"soak: workers' RSS {samples[0]:.0f} MB -> {samples[-1]:.0f} MB "
              f"({(samples[-1] / samples[0] - 1) * 100:+.1f} %), highest {max(samples):.0f} MB; every 10 s: "
              + " ".join(f"{x:.0f}" for x in samples))
    finally:
        proc.terminate()
        proc.wait(30)
