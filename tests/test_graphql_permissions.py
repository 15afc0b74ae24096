"""One rule for "staff with permission P": the field extensions and the check in code (job mutations) agree."""

import pytest
from django.contrib.auth.models import AnonymousUser

from api.permissions import is_staff_with_perm
from tests.conftest import GraphQLClient, make_staff

PERM = "behavior.view_importreport"


def _users():
    """(name, user): every case the rule distinguishes."""
    inactive = make_staff("inactive", perms=(PERM,))
    inactive.is_active = False
    inactive.save()
    not_staff = make_staff("not-staff", perms=(PERM,))
    not_staff.is_staff = False
    not_staff.save()
    superuser = make_staff("superuser")
    superuser.is_superuser = True
    superuser.save()
    superuser_not_staff = make_staff("superuser-not-staff")
    superuser_not_staff.is_superuser, superuser_not_staff.is_staff = True, False
    superuser_not_staff.save()
    return [
        ("anonymous", AnonymousUser()),
        ("staff without the permission", make_staff("plain")),
        ("staff with the permission", make_staff("allowed", perms=(PERM,))),
        ("inactive staff with the permission", inactive),
        ("not staff, with the permission", not_staff),
        ("superuser", superuser),
        ("superuser, not staff", superuser_not_staff),
    ]


@pytest.mark.django_db
def test_the_check_in_code_agrees_with_the_field_extensions(client):
    verdicts = {}
    for name, user in _users():
        # given a request by this user (an inactive user's session counts as anonymous, as in Django)
        client.logout()
        gql = GraphQLClient(client, user if user.is_authenticated else None)
        # when a field with staff_with_perm(PERM) is asked for
        allowed_by_extensions = "errors" not in gql("{ importReports { id } }", expect_errors=True)
        # then the check in code gives the same verdict
        verdicts[name] = is_staff_with_perm(user, PERM)
        assert verdicts[name] == allowed_by_extensions, name
    assert verdicts == {
        "anonymous": False, "staff without the permission": False, "staff with the permission": True,
        "inactive staff with the permission": False, "not staff, with the permission": False,
        "superuser": True, "superuser, not staff": False,
    }


@pytest.mark.django_db
def test_staff_only_when_no_permission_is_named():
    assert is_staff_with_perm(make_staff("plain"))
    assert not is_staff_with_perm(AnonymousUser())


@pytest.mark.django_db
def test_job_mutations_refuse_with_the_same_rule(client):
    # Not staff but holding jobs.add_job: the rule says no, and submit_job answers PERMISSION_DENIED.
    user = make_staff("runner", perms=("jobs.add_job",))
    user.is_staff = False
    user.save()
    gql = GraphQLClient(client, user)
    body = gql("mutation { runSelfCheck { job { id } errors { code } } }")
    assert body["data"]["runSelfCheck"] == {"job": None, "errors": [{"code": "PERMISSION_DENIED"}]}
