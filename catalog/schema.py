from decimal import Decimal

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry import auto, relay
from strawberry.scalars import JSON
from strawberry_django.relay import DjangoListConnection

from .models import Category, Product
from .selectors import category_descendant_ids


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
        return Q(**{f"{prefix}category_id__in": category_descendant_ids(category_ids=[int(value)])})

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
    products: DjangoListConnection[ProductType] = strawberry_django.connection()

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
