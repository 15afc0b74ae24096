"""The service's URLs plus `/bench/hand-products/`: a hand-written Django view returning the same first page of
products as the GraphQL catalogue query (one `values()` query and a `COUNT(*)`, `JsonResponse`), served by
the same gunicorn in the same run, as the load benchmark's baseline."""

from django.http import JsonResponse
from django.urls import path

from catalog.models import Product
from config.urls import urlpatterns as service_urls


def hand_products(request):
    rows = list(Product.objects.order_by("pk").values("id", "sku", "name", "price", "category__name")[:20])
    for row in rows:
        row["price"] = str(row["price"])
    return JsonResponse({"totalCount": Product.objects.count(), "items": rows})


urlpatterns = [path("bench/hand-products/", hand_products), *service_urls]
