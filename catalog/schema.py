from decimal import Decimal

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry import auto, relay
from strawberry.scalars import JSON

from api.connections import CountedListConnection
from api.ids import required_database_id
from api.payloads import item_errors
from api.permissions import staff_with_perm

from .error_codes import CatalogErrorCode
from .models import Category, Product
from .selectors import category_descendant_ids
from .services import BATCH_LIMIT, UpsertOutcome, categories_upsert, products_upsert

CatalogErrorCodeEnum = strawberry.enum(CatalogErrorCode, name="CatalogErrorCode")


@strawberry_django.type(Category, name="Category")
class CategoryType:
    id: strawberry.ID
    name: auto
    slug: auto
    parent: "CategoryType | None"
    children: list["CategoryType"]


@strawberry_django.filter_type(Product, lookups=True)
class ProductFilter:
    brand: auto
    is_active: auto
    price: auto

    @strawberry_django.filter_field(description="Products in this category or any category below it.")
    def category(self, value: strawberry.ID, prefix: str) -> Q:
        category_id = required_database_id(value, message="category must be a category's database id.")
        return Q(**{f"{prefix}category_id__in": category_descendant_ids(category_ids=[category_id])})

    @strawberry_django.filter_field(description="Case-insensitive match on name or SKU.")
    def search(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}name__icontains": value}) | Q(**{f"{prefix}sku__icontains": value})


@strawberry_django.order_type(Product)
class ProductOrder:
    name: auto
    price: auto
    created_at: auto


@strawberry_django.type(Product, name="Product", filters=ProductFilter, ordering=ProductOrder)
class ProductType(relay.Node):
    # Naming the id attribute lets strawberry cache it: without a NodeID annotation it re-scans the
    # class annotations (typing.eval_type) for every node resolved, ~0.3 ms per product (docs/performance.md).
    id: relay.NodeID[int]
    sku: auto
    name: auto
    description: auto
    category: CategoryType | None
    brand: auto
    price: Decimal
    currency: auto
    stock: auto
    attributes: JSON
    is_active: auto
    created_at: auto
    updated_at: auto

    @strawberry_django.field(only=["id"])
    def pk(self) -> int:
        return self.pk  # type: ignore[attr-defined]


@strawberry.type
class Query:
    # CountedListConnection: totalCount by COUNT(*), not a window over every row (docs/performance.md).
    products: CountedListConnection[ProductType] = strawberry_django.connection()

    @strawberry_django.field(description="A product by its global id or its SKU.")
    def product(self, id: relay.GlobalID | None = None, sku: str | None = None) -> ProductType | None:
        if id is not None:
            return Product.objects.filter(pk=id.node_id).first()
        if sku is not None:
            return Product.objects.filter(sku=sku).first()
        return None

    @strawberry_django.field(description="Every category; roots first when rootsOnly, with children below.")
    def categories(self, roots_only: bool = False) -> list[CategoryType]:
        qs = Category.objects.all()
        return qs.filter(parent__isnull=True) if roots_only else qs


# --- batch upserts (ingestion) ---------------------------------------------------------------------


@strawberry.type
class CatalogItemError:
    index: int = strawberry.field(description="Position of the item in the list (-1: the whole call).")
    field: str
    code: CatalogErrorCodeEnum
    message: str


@strawberry.type
class UpsertPayload:
    created: int
    updated: int
    errors: list[CatalogItemError]


def _payload(outcome: UpsertOutcome) -> UpsertPayload:
    return UpsertPayload(created=outcome.created, updated=outcome.updated,
                         errors=item_errors(CatalogItemError, CatalogErrorCode, outcome.errors))


@strawberry.input
class CategoryInput:
    slug: str = strawberry.field(description="The key: an existing slug updates that category.")
    name: str
    parent_slug: str | None = strawberry.field(default=None, description="Parent by slug (may be in this batch).")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Parent by database id.")


@strawberry.input
class ProductInput:
    sku: str = strawberry.field(description="The key: an existing SKU updates that product.")
    name: str
    price: Decimal
    description: str | None = None
    category_id: strawberry.ID | None = None
    category_slug: str | None = None
    brand: str | None = None
    currency: str | None = None
    stock: int | None = None
    attributes: JSON | None = None
    is_active: bool | None = None


def _items(inputs: list) -> list[dict]:
    return [{k: v for k, v in vars(item).items() if v is not None} for item in inputs]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=f"Create or update categories by slug, at most {BATCH_LIMIT} per call. Valid items are stored "
                    "even when others are rejected. Needs catalog.add_category and catalog.change_category.",
        extensions=staff_with_perm("catalog.add_category", "catalog.change_category"),
    )
    def upsert_categories(self, categories: list[CategoryInput]) -> UpsertPayload:
        return _payload(categories_upsert(categories=_items(categories)))

    @strawberry.mutation(
        description=f"Create or update products by SKU, at most {BATCH_LIMIT} per call; fields left out keep their "
                    "value. Needs catalog.add_product and catalog.change_product.",
        extensions=staff_with_perm("catalog.add_product", "catalog.change_product"),
    )
    def upsert_products(self, products: list[ProductInput]) -> UpsertPayload:
        return _payload(products_upsert(products=_items(products)))
