"""The `products` page through GraphQL versus a hand-written Django view, same database, same run.

    scripts/bench graphql [--requests N] [--rounds R]
    (or DATABASE_URL=postgres://... .venv/bin/python -m bench graphql)

Data: 5,000 products in 50 categories (10 roots with 4 children each), seeded once into the
benchmark's own database and reused by later runs. Every request goes through Django's test
`Client` and the whole middleware stack with DEBUG=False (as in production: no SQL logging):

- `hand`: a function view written for this benchmark, registered through a bench-only urlconf.
  It runs the same two SQL statements a competent hand-written view would (one `select_related`
  + `only` page of first+1 rows, and `COUNT(*)` for the total) and builds the same JSON with
  `json.dumps`. Its body is asserted equal to the GraphQL body before anything is timed.
- `graphql`: the real `/graphql/` URL of the service, with the query below.
- `stock`: the same schema types behind strawberry's stock `GraphQLView` with the extension list
  as it was out of the box (QueryDepthLimiter, MaxAliasesLimiter, ParserCache, ValidationCache,
  MaskErrors, DjangoOptimizerExtension, as per-request factories), for comparison; `+limits` is
  `stock` with the limits made cacheable (see `_variant_views`).

Requests of each kind are interleaved (the order rotates each round) so that load from other
processes on the machine hits them alike; the table gives the median per request and the ratio
to `hand` measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.test.utils import override_settings
from django.urls import path
from strawberry import relay

from catalog.models import Category, Product

PRODUCTS = 5_000
ROOTS, CHILDREN = 10, 4
BRANDS = ["Acme", "Bolt", "Corex", "Dyna", "Evo", "Fjord", "Gala"]

QUERY = """query Products($first: Int!) {
  products(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id sku name price brand isActive category { id name parent { id name } } } }
  }
}"""


# --- data ---------------------------------------------------------------------------------------


def seed() -> None:
    """5,000 products over 50 categories; kept when already there (checked by count and a marker)."""
    if Product.objects.filter(sku__startswith="GB").count() == PRODUCTS and Category.objects.count() == ROOTS * (
        1 + CHILDREN
    ):
        return
    started = time.perf_counter()
    with transaction.atomic():
        Product.objects.all().delete()
        Category.objects.filter(parent__isnull=False).delete()
        Category.objects.all().delete()
        roots = Category.objects.bulk_create(
            Category(name=f"Department {r:02d}", slug=f"gb-dept-{r}") for r in range(ROOTS)
        )
        leaves = Category.objects.bulk_create(
            Category(name=f"Department {r:02d} / Aisle {c}", slug=f"gb-dept-{r}-{c}", parent=roots[r])
            for r in range(ROOTS)
            for c in range(CHILDREN)
        )
        Product.objects.bulk_create(
            (
                Product(
                    sku=f"GB{n:05d}",
                    # Names are not in sku order, so the default ordering (name, id) has real work to do.
                    name=f"Product {(n * 7919) % PRODUCTS:05d} {BRANDS[n % len(BRANDS)]}",
                    description="A product used by the GraphQL benchmark.",
                    category=leaves[n % len(leaves)],
                    brand=BRANDS[n % len(BRANDS)],
                    price=Decimal(100 + (n * 37) % 9_900) / 100,
                    stock=n % 50,
                    attributes={"colour": ["red", "blue", "green"][n % 3]},
                    is_active=n % 11 != 0,
                )
                for n in range(PRODUCTS)
            ),
            batch_size=1_000,
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE catalog_product")
        cur.execute("ANALYZE catalog_category")
    print(f"  seeded {PRODUCTS:,} products in {time.perf_counter() - started:.1f} s", flush=True)


# --- the hand-written view ----------------------------------------------------------------------


def _category(category: Category | None) -> dict | None:
    if category is None:
        return None
    parent = category.parent
    return {
        "id": str(category.pk),
        "name": category.name,
        "parent": None if parent is None else {"id": str(parent.pk), "name": parent.name},
    }


HAND_COLUMNS = ("sku", "name", "brand", "price", "is_active", "category__name", "category__parent__name")


def hand_products(request):
    """What a hand-written JSON view of the same page looks like: one query, dicts, json.dumps."""
    first = int(request.GET.get("first", 10))
    rows = list(
        Product.objects.select_related("category__parent")
        .only(*HAND_COLUMNS)
        .order_by("name", "id")[: first + 1]
    )
    page = rows[:first]
    total = Product.objects.count()
    edges = [
        {
            "node": {
                "id": relay.to_base64("Product", p.pk),
                "sku": p.sku,
                "name": p.name,
                "price": str(p.price),
                "brand": p.brand,
                "isActive": p.is_active,
                "category": _category(p.category),
            }
        }
        for p in page
    ]
    body = {
        "data": {
            "products": {
                "totalCount": total,
                "pageInfo": {
                    "hasNextPage": len(rows) > first,
                    "endCursor": relay.to_base64("arrayconnection", len(page) - 1) if page else None,
                },
                "edges": edges,
            }
        }
    }
    return HttpResponse(json.dumps(body, separators=(",", ":")), content_type="application/json")


# --- the bench-only urlconf ---------------------------------------------------------------------


def _schema(extensions: list):
    import strawberry

    from config import schema as service

    return strawberry.Schema(query=service.Query, mutation=service.Mutation, extensions=extensions)


def _variant_views() -> dict[str, object]:
    """Strawberry's stock view over the service's own Query/Mutation, configured step by step.

    `stock`: the extension list as it was out of the box (QueryDepthLimiter and MaxAliasesLimiter
    as per-request factories, ParserCache, ValidationCache, MaskErrors, DjangoOptimizerExtension).
    `+limits`: the limits as RequestLimits (rules built once, so ValidationCache hits): the service
    schema with GRAPHQL_FAST_PATH=false.
    The service (`graphql`) adds FieldOptimizer + use_fast_resolvers + FastExecutionContext.
    The type-level changes (NodeID on Product, CountedListConnection) are in every variant: they
    are part of the types; docs/performance.md has their effect measured before and after.
    """
    from strawberry.django.views import GraphQLView
    from strawberry.extensions import MaskErrors, MaxAliasesLimiter, ParserCache, QueryDepthLimiter, ValidationCache
    from strawberry_django.optimizer import DjangoOptimizerExtension

    from api.build import build_schema
    from api.errors import is_shown_to_client
    from config import schema as service

    def mask():
        return MaskErrors(should_mask_error=lambda error: not is_shown_to_client(error))

    stock = _schema(
        [
            lambda: QueryDepthLimiter(max_depth=settings.GRAPHQL_MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=settings.GRAPHQL_MAX_ALIASES),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            mask,
            DjangoOptimizerExtension,
        ]
    )
    limits = build_schema(query=service.Query, mutation=service.Mutation, fast_path=False)
    return {
        "stock": GraphQLView.as_view(schema=stock, graphql_ide="graphiql"),
        "+limits": GraphQLView.as_view(schema=limits, graphql_ide="graphiql"),
    }


def _urlpatterns():
    from config.urls import urlpatterns as service_urls

    return [
        *service_urls,
        path("bench/hand/products/", hand_products),
        *(path(f"bench/{name}/graphql/", view) for name, view in _variant_views().items()),
    ]


urlpatterns: list = []  # filled in by main() (this module is the bench-only ROOT_URLCONF)


# --- timing -------------------------------------------------------------------------------------

def _post(url: str):
    def call(client: Client, first: int):
        return client.post(url, {"query": QUERY, "variables": {"first": first}}, content_type="application/json")

    return call


KINDS = {
    "hand": lambda client, first: client.get("/bench/hand/products/", {"first": first}),
    "graphql": _post("/graphql/"),
    "stock": _post("/bench/stock/graphql/"),
    "+limits": _post("/bench/+limits/graphql/"),
}


def _body(response) -> dict:
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def measure(client: Client, first: int, requests: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU ms per request of each kind; kinds interleaved in a rotating order."""
    names = list(KINDS)
    expected = _body(KINDS["hand"](client, first))
    assert len(expected["data"]["products"]["edges"]) == first
    for name in names:  # same JSON (and warm caches) before timing
        got = _body(KINDS[name](client, first))
        assert got == expected, f"{name} differs from the hand-written view at first={first}"
        for _ in range(20):
            KINDS[name](client, first)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    per_round = max(1, requests // rounds)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for _ in range(per_round):
            for name in order:
                call = KINDS[name]
                c0, t0 = time.process_time(), time.perf_counter()
                call(client, first)
                wall[name].append((time.perf_counter() - t0) * 1000)
                cpu[name].append((time.process_time() - c0) * 1000)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in names}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench graphql")
    parser.add_argument("--requests", type=int, default=200, help="timed requests of each kind per page size")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="10,100")
    args = parser.parse_args(argv)

    seed()
    urlpatterns[:] = _urlpatterns()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"  {args.requests} requests of each kind per size, interleaved; DEBUG=False; "
          f"database {connection.vendor}", flush=True)
    results = {}
    with override_settings(DEBUG=False, ROOT_URLCONF=__name__):
        client = Client()
        for first in sizes:
            results[first] = measure(client, first, args.requests, args.rounds)

    print(f"\n  {'rows':>5} {'kind':<9} {'wall ms':>8} {'x hand':>7} {'cpu ms':>8} {'x hand':>7}")
    for first, medians in results.items():
        hand_wall, hand_cpu = medians["hand"]
        for name, (ms, cpu_ms) in medians.items():
            print(f"  {first:>5} {name:<9} {ms:>8.2f} {ms / hand_wall:>7.2f} {cpu_ms:>8.2f} {cpu_ms / hand_cpu:>7.2f}")
    print("  (medians per request; wall = what a client waits, cpu = this process only, without the"
          " database server's time)", flush=True)
