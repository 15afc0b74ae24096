from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import Category, Product
from tests import factories


@pytest.mark.django_db
class TestProductConstraints:
    def test_sku_is_unique(self):
        factories.product("A1")
        with pytest.raises(IntegrityError), transaction.atomic():
            factories.product("A1")

    def test_negative_price_is_refused(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Product.objects.create(sku="N1", name="n", price=Decimal("-0.01"))

    def test_negative_stock_is_refused(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Product.objects.create(sku="N2", name="n", price=Decimal("1"), stock=-1)

    def test_currency_must_be_iso_code(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Product.objects.create(sku="N3", name="n", price=Decimal("1"), currency="gbp")


@pytest.mark.django_db
class TestCategoryConstraints:
    def test_slug_is_unique(self):
        Category.objects.create(name="A", slug="a")
        with pytest.raises(IntegrityError), transaction.atomic():
            Category.objects.create(name="B", slug="a")

    def test_category_cannot_be_its_own_parent(self):
        cat = Category.objects.create(name="A", slug="a")
        cat.parent_id = cat.pk
        with pytest.raises(IntegrityError), transaction.atomic():
            cat.save()
