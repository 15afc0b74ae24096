"""CSRF on /graphql/: front ends without a session may POST; a session-carrying POST needs the token."""

import json

import pytest
from django.http import HttpRequest
from django.test import Client

from tests.conftest import make_staff
from tests import factories

QUERY = json.dumps({"query": "{ products(first: 1) { totalCount } }"})


@pytest.mark.django_db
def test_an_anonymous_front_end_may_post_without_a_csrf_token():
    factories.product("A-1")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/graphql/", QUERY, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["data"]["products"]["totalCount"] == 1


@pytest.mark.django_db
def test_a_logged_in_post_without_the_token_is_refused_and_with_it_answered(settings):
    settings.GRAPHQL_IDE = True
    make_staff("analyst")
    client = Client(enforce_csrf_checks=True)
    assert client.login(request=HttpRequest(), username="analyst", password="pw")  # django-axes wants the request
    assert client.post("/graphql/", QUERY, content_type="application/json").status_code == 403
    client.get("/graphql/", HTTP_ACCEPT="text/html")  # GraphiQL's page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/graphql/", QUERY, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and "errors" not in response.json()
