"""Hostile queries: each refused with a code, how fast, and what 1,000 of them do to memory.

    scripts/bench hostile [--requests N] [--stock]
    (or DATABASE_URL=postgres://... .venv/bin/python -m bench hostile)

The requests are tests/hostile_queries.py (issue 15's and their cousins), posted anonymously over
HTTP to the service running in its own process (runserver, DEBUG off, one thread), so that the memory figure is
the server's alone. For each: the median and the slowest of 7 tries (the goal is a median <= 100 ms
each; the slowest shows the machine's noise) and the ratio to `{ __typename }` in the same run. Then N requests (default 1,000) cycling through the set,
and the server's resident memory before and after (the goal is <= 20 MB of growth). `--stock` also times strawberry's stock limiters and parser cache
(QueryDepthLimiter, MaxAliasesLimiter, ParserCache, ValidationCache) on smaller versions of the
fragment bomb, for the before/after ratio; the full-size bomb would not finish there.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path

from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

from tests.hostile_queries import HOSTILE, fragment_bomb

GOAL_MS, GOAL_MB = 100.0, 20.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server() -> Iterator[tuple[int, int]]:
    """The service in its own process (runserver, DEBUG off, one thread as a sync worker): (pid, port)."""
    port = _free_port()
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "bench-" + "x" * 60, "LOG_LEVEL": "CRITICAL"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading", "--skip-checks"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(timeout=10)


def encode(query: str, variables: dict | None) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def post(port: int, body: bytes) -> tuple[float, dict]:
    connection = HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    connection.request("POST", "/graphql/", body, {"Content-Type": "application/json"})
    answer = connection.getresponse().read()
    ms = (time.perf_counter() - started) * 1000
    connection.close()
    return ms, json.loads(answer)


def timed(port: int, body: bytes, tries: int = 7) -> tuple[float, float, dict]:
    """(median ms, slowest ms, last answer) of `tries` posts."""
    answers = [post(port, body) for _ in range(tries)]
    times = sorted(ms for ms, _ in answers)
    return times[len(times) // 2], times[-1], answers[-1][1]


def code_of(body: dict) -> str:
    errors = body.get("errors") or [{}]
    return (errors[0].get("extensions") or {}).get("code", "(no code)")


def per_request(port: int) -> bool:
    typename = encode("{ __typename }", None)
    post(port, typename)  # warm: imports, first-use caches
    baseline, slowest, _ = timed(port, typename)
    print(f"\n  {'request':<22} {'chars':>9} {'code':<26} {'median ms':>9} {'max ms':>7} {'x typename':>10}")
    print(f"  {'{ __typename }':<22} {14:>9} {'(answered)':<26} {baseline:>9.2f} {slowest:>7.2f} {1:>10.1f}")
    ok = True
    for name, (query, variables, expected) in HOSTILE.items():
        ms, slowest, body = timed(port, encode(query, variables))
        code = code_of(body)
        ok &= code == expected and ms <= GOAL_MS
        print(f"  {name:<22} {len(query):>9,} {code:<26} {ms:>9.2f} {slowest:>7.2f} {ms / baseline:>10.1f}")
    return ok


def memory(pid: int, port: int, requests: int) -> bool:
    bodies = [encode(query, variables) for query, variables, _ in HOSTILE.values()]
    for body in bodies:  # warm: every kind once
        post(port, body)
    before = rss_mb(pid)
    started = time.perf_counter()
    for i in range(requests):
        post(port, bodies[i % len(bodies)])
    seconds = time.perf_counter() - started
    growth = rss_mb(pid) - before
    print(f"\n  {requests:,} hostile requests in {seconds:.1f} s ({seconds / requests * 1000:.1f} ms each):"
          f" server RSS {before:.0f} MB -> {before + growth:.0f} MB, growth {growth:+.1f} MB (goal <= {GOAL_MB:.0f} MB)")
    return growth <= GOAL_MB


urlpatterns: list = []  # filled in by stock() (this module is then the ROOT_URLCONF)


def _stock_view():
    import strawberry
    from strawberry.django.views import GraphQLView
    from strawberry.extensions import MaxAliasesLimiter, ParserCache, QueryDepthLimiter, ValidationCache

    from config import schema as service

    extensions = [
        lambda: QueryDepthLimiter(max_depth=10), lambda: MaxAliasesLimiter(max_alias_count=15),
        lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512),
    ]
    schema = strawberry.Schema(query=service.Query, mutation=service.Mutation, extensions=extensions)
    return GraphQLView.as_view(schema=schema)


def _client_ms(client: Client, url: str, query: str) -> float:
    started = time.perf_counter()
    client.post(url, {"query": query}, content_type="application/json")
    return (time.perf_counter() - started) * 1000


def stock(client: Client) -> None:
    """The fragment bomb against strawberry's stock limiters (exponential), versus the service."""
    from django.urls import clear_url_caches, path

    from config.urls import urlpatterns as service_urls

    urlpatterns[:] = [*service_urls, path("stock/graphql/", _stock_view())]
    with override_settings(ROOT_URLCONF=__name__):
        clear_url_caches()
        print(f"\n  {'fragments':>9} {'stock ms':>9} {'service ms':>10} {'x faster':>9}")
        for fragments in (12, 14, 16):
            query = fragment_bomb(fragments)
            stock_ms = _client_ms(client, "/stock/graphql/", query)
            service_ms = _client_ms(client, "/graphql/", query)
            print(f"  {fragments:>9} {stock_ms:>9.1f} {service_ms:>10.2f} {stock_ms / service_ms:>9.0f}")
    clear_url_caches()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench hostile")
    parser.add_argument("--requests", type=int, default=1000, help="requests for the memory figure")
    parser.add_argument("--stock", action="store_true", help="also time strawberry's stock limiters (in-process)")
    args = parser.parse_args(argv)
    with server() as (pid, port):
        fast = per_request(port)
        lean = memory(pid, port, args.requests)
    if args.stock:
        with override_settings(DEBUG=False):
            stock(Client())
    print(f"\n  every request refused with its code in a median <= {GOAL_MS:.0f} ms: {'yes' if fast else 'NO'};"
          f" server memory growth within {GOAL_MB:.0f} MB: {'yes' if lean else 'NO'}", flush=True)
