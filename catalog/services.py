"""Writes to the catalogue: batch upserts of categories and products (GraphQL, CSV import, demo, synthetic).

Each upsert validates every item, stores the valid ones in a fixed number of queries (one read of the
existing rows, one bulk insert, one bulk update) and reports every invalid one by index, field and
code. Fields an item leaves out keep their stored value on update and take the model default on
create. The first occurrence of a key in a batch wins; later ones are reported as DUPLICATE_IN_BATCH.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from batching import BATCH_LIMIT, InvalidItem, ItemError, UpsertOutcome, chunks, first_occurrences, text_field
from batching.retry import lock_keys, retry_on_conflict

from .error_codes import CatalogErrorCode as Code
from .models import Category, Product

__all__ = ["BATCH_LIMIT", "ItemError", "MAX_PRICE", "UpsertOutcome", "categories_upsert", "parse_price",
           "products_upsert"]

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_PRICE = Decimal("9999999999.99")

UPSERT_LOCKS = 2  # batching.retry.lock_keys namespace of this app's upserts


def _text(item: dict, key: str, graphql_name: str, max_length: int, *, required: bool = False) -> str | None:
    return text_field(item, key, graphql_name, max_length, codes=Code, required=required)


def parse_price(value: Any, gql: str = "price") -> Decimal:
    try:
        price = Decimal(str(value).strip()).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise InvalidItem(gql, Code.INVALID_PRICE, f"{gql} must be a number.") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise InvalidItem(gql, Code.INVALID_PRICE, f"{gql} must be from 0 to {MAX_PRICE}.")
    return price


# --- categories ------------------------------------------------------------------------------------


def categories_upsert(*, categories: list[dict], limit: int = BATCH_LIMIT) -> UpsertOutcome:
    """Items: slug (the key), name, and a parent given by parent_slug (may be in the same batch) or parent_id."""
    out = UpsertOutcome()
    valid: dict[str, tuple[int, dict]] = {}
    for index, item in first_occurrences(categories, "slug", "slug", limit, out, codes=Code):
        try:
            slug = _text(item, "slug", "slug", 200, required=True)
            if not _SLUG.fullmatch(slug):
                raise InvalidItem("slug", Code.INVALID_SLUG, "slug may contain letters, digits, '-' and '_' only.")
            cleaned = {"slug": slug, "name": _text(item, "name", "name", 200, required=True)}
            if item.get("parent_slug") is not None:
                cleaned["parent_slug"] = _text(item, "parent_slug", "parentSlug", 200) or None
            elif item.get("parent_id") is not None:
                try:
                    cleaned["parent_id"] = int(item["parent_id"])
                except (TypeError, ValueError):
                    raise InvalidItem("parentId", Code.UNKNOWN_PARENT, "parentId is not a category id.") from None
            valid[slug] = (index, cleaned)
        except InvalidItem as exc:
            out.errors.append(exc.as_error(index))
    if not valid:
        return out

    with transaction.atomic():
        # Today's tree (small: categories are counted in hundreds) with the batch's parents applied.
        existing = {c.slug: c for c in Category.objects.select_related("parent")}
        by_id = {c.id: c.slug for c in existing.values()}
        parent_of = {slug: (c.parent.slug if c.parent else None) for slug, c in existing.items()}
        for slug, (index, cleaned) in list(valid.items()):
            if "parent_slug" in cleaned:
                parent = cleaned["parent_slug"]
                if parent is not None and parent not in existing and parent not in valid:
                    out.errors.append(ItemError(index, "parentSlug", Code.UNKNOWN_PARENT.value,
                                                f"no category has slug {parent!r}."))
                    del valid[slug]
                    continue
            elif "parent_id" in cleaned:
                parent = by_id.get(cleaned["parent_id"])
                if parent is None:
                    out.errors.append(ItemError(index, "parentId", Code.UNKNOWN_PARENT.value,
                                                "no category has this id."))
                    del valid[slug]
                    continue
            else:
                parent = parent_of.get(slug)
            parent_of[slug] = parent
        for slug, (index, cleaned) in list(valid.items()):
            seen, node = {slug}, parent_of.get(slug)
            while node is not None and node not in seen:
                seen.add(node)
                node = parent_of.get(node)
            if node is not None:
                out.errors.append(ItemError(index, "parentSlug", Code.PARENT_CYCLE.value,
                                            "this parent would make the category its own ancestor."))
                del valid[slug]
        for slug in [s for s in valid if parent_of.get(s) is not None and parent_of[s] not in existing
                     and parent_of[s] not in valid]:
            index = valid.pop(slug)[0]  # its parent was in the batch but rejected
            out.errors.append(ItemError(index, "parentSlug", Code.UNKNOWN_PARENT.value, "the parent was rejected."))

        new = [Category(slug=s, name=c["name"]) for s, (_, c) in valid.items() if s not in existing]
        Category.objects.bulk_create(new, batch_size=1000)
        changed = []
        for slug, (_, cleaned) in valid.items():
            if slug in existing:
                existing[slug].name = cleaned["name"]
                changed.append(existing[slug])
        all_ids = dict(Category.objects.filter(slug__in=list(valid)).values_list("slug", "id"))
        all_ids.update({s: c.id for s, c in existing.items()})
        tree = []
        for slug in valid:
            category = Category(id=all_ids[slug], slug=slug, name=valid[slug][1]["name"])
            category.parent_id = all_ids.get(parent_of.get(slug)) if parent_of.get(slug) else None
            tree.append(category)
        Category.objects.bulk_update(tree, ["name", "parent"], batch_size=500)
        out.created, out.updated = len(new), len(changed)
        out.ids = {slug: all_ids[slug] for slug in valid}
    out.errors.sort(key=lambda e: e.index)
    return out


# --- products --------------------------------------------------------------------------------------

_PRODUCT_OPTIONAL = ("description", "brand", "currency", "stock", "attributes", "is_active")


def _clean_product(item: dict) -> dict:
    cleaned: dict[str, Any] = {
        "sku": _text(item, "sku", "sku", 64, required=True),
        "name": _text(item, "name", "name", 300, required=True),
    }
    if item.get("price") is None or str(item["price"]).strip() == "":
        raise InvalidItem("price", Code.REQUIRED, "price is required.")
    cleaned["price"] = parse_price(item["price"])
    if item.get("description") is not None:
        cleaned["description"] = str(item["description"])
    if item.get("brand") is not None:
        cleaned["brand"] = _text(item, "brand", "brand", 120)
    if item.get("currency") is not None:
        currency = str(item["currency"]).strip().upper()
        if not _CURRENCY.fullmatch(currency):
            raise InvalidItem("currency", Code.INVALID_CURRENCY, "currency must be a three-letter ISO 4217 code.")
        cleaned["currency"] = currency
    if item.get("stock") is not None:
        try:
            stock = int(str(item["stock"]).strip())
        except ValueError:
            stock = -1
        if stock < 0:
            raise InvalidItem("stock", Code.INVALID_STOCK, "stock must be a whole number, 0 or more.")
        cleaned["stock"] = stock
    if item.get("attributes") is not None:
        if not isinstance(item["attributes"], dict):
            raise InvalidItem("attributes", Code.INVALID_VALUE, "attributes must be an object.")
        cleaned["attributes"] = item["attributes"]
    if item.get("is_active") is not None:
        value = item["is_active"]
        if isinstance(value, str):
            if value.strip().lower() not in ("true", "false", "1", "0"):
                raise InvalidItem("isActive", Code.INVALID_VALUE, "isActive must be true or false.")
            value = value.strip().lower() in ("true", "1")
        cleaned["is_active"] = bool(value)
    if item.get("category_id") is not None:
        try:
            cleaned["category_id"] = int(item["category_id"])
        except (TypeError, ValueError):
            raise InvalidItem("categoryId", Code.UNKNOWN_CATEGORY, "categoryId is not a category id.") from None
    elif item.get("category_slug") is not None:
        cleaned["category_slug"] = str(item["category_slug"]).strip() or None
    return cleaned


def products_upsert(*, products: list[dict], limit: int = BATCH_LIMIT) -> UpsertOutcome:
    """Items: sku (the key), name, price (required); description, category_id or category_slug, brand,
    currency, stock, attributes, is_active (optional)."""
    out = UpsertOutcome()
    valid: list[tuple[int, dict]] = []
    for index, item in first_occurrences(products, "sku", "sku", limit, out, codes=Code):
        try:
            valid.append((index, _clean_product(item)))
        except InvalidItem as exc:
            out.errors.append(exc.as_error(index))
    if not valid:
        return out
    slugs = {c["category_slug"] for _, c in valid if c.get("category_slug")}
    ids = {c["category_id"] for _, c in valid if "category_id" in c}
    by_slug = dict(Category.objects.filter(slug__in=slugs).values_list("slug", "id")) if slugs else {}
    known_ids = set(Category.objects.filter(id__in=ids).values_list("id", flat=True)) if ids else set()
    resolved = []
    for index, cleaned in valid:
        if "category_slug" in cleaned:
            slug = cleaned.pop("category_slug")
            if slug is not None and slug not in by_slug:
                out.errors.append(ItemError(index, "categorySlug", Code.UNKNOWN_CATEGORY.value,
                                            f"no category has slug {slug!r}."))
                continue
            cleaned["category_id"] = by_slug.get(slug)
        elif "category_id" in cleaned and cleaned["category_id"] not in known_ids:
            out.errors.append(ItemError(index, "categoryId", Code.UNKNOWN_CATEGORY.value, "no category has this id."))
            continue
        resolved.append(cleaned)

    # Keys in order, retried as a whole when another client raced it (batching.retry): concurrent upserts of
    # the same products queue instead of deadlocking.
    resolved.sort(key=lambda c: c["sku"])
    out.created, out.updated, ids = retry_on_conflict(lambda: _products_write(resolved), unique_violation=True)
    out.ids.update(ids)
    out.errors.sort(key=lambda e: e.index)
    return out


def _products_write(resolved: list[dict]) -> tuple[int, int, dict[str, int]]:
    with transaction.atomic():
        skus = [c["sku"] for c in resolved]
        lock_keys(UPSERT_LOCKS, skus)
        existing: dict[str, Product] = {}
        for chunk in chunks(skus):
            existing.update({p.sku: p for p in Product.objects.filter(sku__in=chunk).select_for_update()
                             .order_by("sku")})
        now = timezone.now()
        new, changed, fields = [], [], {"name", "price", "updated_at"}
        for cleaned in resolved:
            product = existing.get(cleaned["sku"])
            if product is None:
                new.append(Product(**cleaned))
                continue
            for key, value in cleaned.items():
                setattr(product, key, value)
            product.updated_at = now
            fields.update(k for k in cleaned if k != "sku")
            changed.append(product)
        Product.objects.bulk_create(new, batch_size=1000)
        if changed:
            Product.objects.bulk_update(changed, sorted(fields), batch_size=500)
        ids: dict[str, int] = {}
        for chunk in chunks(skus):
            ids.update(Product.objects.filter(sku__in=chunk).values_list("sku", "id"))
    return len(new), len(changed), ids

