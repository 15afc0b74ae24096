"""The serving path's reads by key, as SQL written once from the models' metadata.

Building an ORM queryset costs more than running it: for these lookups by key Django spent about
1 ms of Python per query (filters, compiler, select_related) against a few tenths of a millisecond
in the database. Here each statement is written once per database vendor (and per IN-list length)
from ``_meta``, runs through Django's cursor (so it is logged and counted like any other query), and
each value goes through the converters the ORM itself would apply, so the rows and model instances
are the ones a queryset would build (same fields, same types; products carry their category as
``select_related`` leaves it).

Nothing here caches rows: every call reads the database, so prices, names and ``is_active`` are
always current.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connections, router

from behavior.models import Customer, Event, EventKind
from catalog.models import Category, Product

_CATEGORY = Product._meta.get_field("category")


def _cols(model, alias: str, quote) -> list[tuple[str, Any]]:
    """(SQL, Col expression) for each concrete field of ``model`` under the table alias ``alias``."""
    return [(f"{quote(alias)}.{quote(f.column)}", f.get_col(alias)) for f in model._meta.concrete_fields]


def _converters(connection, expressions: Sequence[Any]) -> list[tuple[int, list, Any]]:
    """The ORM's converters per column (as ``SQLCompiler.get_converters`` collects them)."""
    out = []
    for i, expression in enumerate(expressions):
        convs = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if convs:
            out.append((i, convs, expression))
    return out


def _convert(rows: list, converters: list[tuple[int, list, Any]], connection) -> list:
    if not converters:
        return rows
    out = []
    for row in rows:
        row = list(row)
        for i, convs, expression in converters:
            value = row[i]
            for converter in convs:
                value = converter(value, expression, connection)
            row[i] = value
        out.append(row)
    return out


@functools.lru_cache(maxsize=None)
def _visitor_statement(vendor: str, alias: str):
    connection = connections[alias]
    q = connection.ops.quote_name
    c, e = Customer._meta, Event._meta
    columns = [(f"{q('c')}.{q(c.get_field(n).column)}", c.get_field(n).get_col("c"))
               for n in ("id", "country", "attributes")]
    columns += [(f"{q('e')}.{q(e.get_field(n).column)}", e.get_field(n).get_col("e"))
                for n in ("product", "occurred_at")]
    # the shop clock's reading (the latest stored event), in the same statement: an index's last entry
    occurred = q(e.get_field("occurred_at").column)
    columns.append((f"(SELECT MAX({q('l')}.{occurred}) FROM {q(e.db_table)} {q('l')})",
                    e.get_field("occurred_at").get_col("l")))
    sql = (f"SELECT {', '.join(s for s, _ in columns)} FROM {q(c.db_table)} {q('c')} "
           f"LEFT OUTER JOIN {q(e.db_table)} {q('e')} ON ({q('e')}.{q(e.get_field('customer').column)} = "
           f"{q('c')}.{q(c.pk.column)} AND {q('e')}.{q(e.get_field('kind').column)} = %s) "
           f"WHERE {q('c')}.{q(c.get_field('external_id').column)} = %s")
    return sql, _converters(connection, [x for _, x in columns])


def customer_with_purchases(external_id: str) -> tuple[tuple[int, str, Any], list[tuple[int, Any]], Any] | None:
    """((id, country, attributes), [(product_id, occurred_at) per purchase event], latest event time) of the
    customer with this external id, or None. One statement: the customer LEFT JOIN their purchase events,
    with the time of the latest stored event (anyone's; the shop clock reads it)."""
    alias = router.db_for_read(Customer)
    connection = connections[alias]
    sql, converters = _visitor_statement(connection.vendor, alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [EventKind.PURCHASE.value, external_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    # the customer's columns repeat on every row: convert them once
    customer = _convert([rows[0][:3]], [c for c in converters if c[0] < 3], connection)[0]
    purchases = _convert([r[3:5] for r in rows if r[3] is not None],
                         [(i - 3, convs, x) for i, convs, x in converters if 3 <= i < 5], connection)
    latest = _convert([rows[0][5:]], [(i - 5, convs, x) for i, convs, x in converters if i == 5], connection)[0][0]
    return (customer[0], customer[1], customer[2]), [(r[0], r[1]) for r in purchases], latest


@functools.lru_cache(maxsize=None)
def _products_statement(vendor: str, alias: str, n: int):
    connection = connections[alias]
    q = connection.ops.quote_name
    p, c = Product._meta, Category._meta
    product_cols, category_cols = _cols(Product, "p", q), _cols(Category, "c", q)
    placeholders = ", ".join(["%s"] * n)
    sql = (f"SELECT {', '.join(s for s, _ in product_cols + category_cols)} FROM {q(p.db_table)} {q('p')} "
           f"LEFT OUTER JOIN {q(c.db_table)} {q('c')} ON ({q('p')}.{q(_CATEGORY.column)} = {q('c')}.{q(c.pk.column)}) "
           f"WHERE {q('p')}.{q(p.get_field('is_active').column)} = %s AND {q('p')}.{q(p.pk.column)} IN ({placeholders})")
    return sql, _converters(connection, [x for _, x in product_cols + category_cols]), len(product_cols)


_PRODUCT_NAMES = [f.attname for f in Product._meta.concrete_fields]
_CATEGORY_NAMES = [f.attname for f in Category._meta.concrete_fields]
_CATEGORY_PK = [f.attname for f in Category._meta.concrete_fields].index(Category._meta.pk.attname)


def active_products(ids: Sequence[int]) -> dict[int, Product]:
    """The active products among ``ids``, each with its category loaded (as ``select_related`` does)."""
    if not ids:
        return {}
    alias = router.db_for_read(Product)
    connection = connections[alias]
    sql, converters, split = _products_statement(connection.vendor, alias, len(ids))
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, *ids])
        rows = cursor.fetchall()
    out = {}
    for row in _convert(rows, converters, connection):
        product = Product.from_db(alias, _PRODUCT_NAMES, row[:split])
        category = None
        if row[split + _CATEGORY_PK] is not None:
            category = Category.from_db(alias, _CATEGORY_NAMES, row[split:])
        _CATEGORY.set_cached_value(product, category)
        out[product.pk] = product
    return out


@functools.lru_cache(maxsize=None)
def _product_by_sku_statement(vendor: str, alias: str):
    connection = connections[alias]
    q = connection.ops.quote_name
    p = Product._meta
    columns = [(q(p.get_field(n).column), p.get_field(n).get_col(p.db_table)) for n in ("id", "category", "brand", "price")]
    sql = f"SELECT {', '.join(s for s, _ in columns)} FROM {q(p.db_table)} WHERE {q(p.get_field('sku').column)} = %s"
    return sql, _converters(connection, [x for _, x in columns])


def product_by_sku(sku: str) -> tuple[int, int | None, str, Any] | None:
    """(id, category_id, brand, price) of the product with this SKU (active or not), or None."""
    alias = router.db_for_read(Product)
    connection = connections[alias]
    sql, converters = _product_by_sku_statement(connection.vendor, alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [sku])
        rows = cursor.fetchall()
    rows = _convert(rows, converters, connection)
    return tuple(rows[0]) if rows else None


@functools.lru_cache(maxsize=None)
def _category_tree_statement(vendor: str, alias: str) -> str:
    q = connections[alias].ops.quote_name
    c = Category._meta
    return (f"SELECT {q(c.pk.column)}, {q(c.get_field('parent').column)} FROM {q(c.db_table)} "
            f"ORDER BY {q(c.pk.column)}")


def category_tree() -> tuple[tuple[int, int | None], ...]:
    """Every category as (id, parent_id), by id: the whole (small) tree in one statement."""
    alias = router.db_for_read(Category)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_category_tree_statement(connection.vendor, alias))
        return tuple((int(pk), None if parent is None else int(parent)) for pk, parent in cursor.fetchall())
