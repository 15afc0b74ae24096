"""api.types.add_fields: segments' fields on behavior's Customer type, and the mistakes it refuses."""

import ast

import pytest
import strawberry
import strawberry_django

from api.types import add_fields
from behavior import schema as behavior_schema
from behavior.models import Customer
from catalog.models import Product
from config import schema as service


def test_the_customer_type_has_the_segment_fields_after_its_own():
    fields = list(service.schema._schema.type_map["Customer"].fields)
    assert fields[-3:] == ["events", "segment", "rfmScore"]
    # behavior's schema does not know about them
    tree = ast.parse(open(behavior_schema.__file__).read())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not [name for name in imported if name and name.split(".")[0] == "segments"]


def test_a_field_the_type_already_has_is_refused():
    @strawberry_django.type(Customer, name="CustomerCountryAgain")
    class CountryAgain:
        @strawberry_django.field
        def country(self) -> str:
            return "?"

    with pytest.raises(TypeError, match="already has a field 'country'"):
        add_fields(behavior_schema.CustomerType, CountryAgain)


def test_fields_of_another_model_are_refused():
    @strawberry_django.type(Product, name="ProductExtra")
    class ProductExtra:
        @strawberry.field
        def extra(self) -> str:
            return "?"

    with pytest.raises(TypeError, match="declares fields of Product, not Customer"):
        add_fields(behavior_schema.CustomerType, ProductExtra)
