"""The pages the portal benchmark loads (dashboard, inventory search, version page, ledger
explorer), and every page that lists what grows (the approvals inbox, use cases and a use
case's authorizations, people and tokens), read the database a fixed number of times: a
registry fifteen times larger costs no extra query. A page whose queries grow with the data
(one per row shown, per signature, per entry) is slow at a bank's size however fast each
query is."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role, Scope
from auditreg.ledger import services as ledger
from auditreg.registry.domain import RiskTier
from auditreg.registry.services import authorizations, monitoring, versions
from tests.conftest import VIC, append_many
from tests.factories import (
    approve,
    authorize,
    deploy,
    make_model,
    make_package,
    make_use_case,
    make_version,
    submit,
)
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

ORIGIN = "auditreg.test/query-counts"
VERSION_PAGE = "/models/credit-pd/versions/1"
USE_CASE_PAGE = "/usecases/us-retail-pd"
PAGES = {
    "dashboard": "/",
    "inventory search": "/models?q=model&risk_tier=high&stage=validation&sort=-versions",
    "version page": VERSION_PAGE,
    "ledger explorer": f"/ledger?subject=model:credit-pd/1&kind=test.recorded&actor={VIC.id}",
    "dashboard of an approver": "/",
    "approvals inbox": "/signoffs",
    "use cases": "/usecases",
    "use case page": USE_CASE_PAGE,
    "users and roles": "/administration/users",
    "service tokens": "/administration/tokens",
}
# Who looks at each page (a validator, unless named here).
VIEWERS = {
    "dashboard of an approver": "alice",
    "approvals inbox": "alice",
    "use cases": "alice",
    "use case page": "alice",
    "users and roles": "ada",
    "service tokens": "ada",
}


@pytest.fixture
def in_use(clock, people):
    """credit-pd version 1: approved, authorized with an expiry, in production, monitored."""
    model = make_model(people)
    version = approve(people, make_version(people, model))
    authorize(people, version, make_use_case(people, model), expires_on=_soon(version))
    monitoring.set_threshold(model=model, metric="psi", upper="0.25", by=people.vic)
    return deploy(people, version)


def _soon(version):
    return version.registered_at.date() + timedelta(days=45)


def grow(people, version, count: int, start: int) -> None:
    """`count` more of everything the pages show: models of every tier with a version waiting
    for sign-off and a use case, approved versions of credit-pd proposed for its use case,
    monitoring figures of version 1, services with a token, ledger entries matching the
    explorer's filters, and a checkpoint over all of it."""
    tiers = list(RiskTier)
    use_case = version.authorizations.get().use_case
    for n in range(start, start + count):
        model = make_model(people, slug=f"model-{n:03d}", tier=tiers[n % 3])
        submit(people, make_version(people, model, n))
        make_use_case(people, model, slug=f"use-{n:03d}")
        other, _ = versions.register_version(
            model=version.model, package=make_package(100 + n), by=people.trainer
        )
        authorizations.propose_authorization(
            version=approve(people, other),
            use_case=use_case,
            effective_on=version.registered_at.date(),
            by=people.dana,
        )
        service = accounts.enroll_service(
            name=f"job-{n:03d}", printed_name=f"Job {n}", roles=[Role.DEVELOPER], by=people.ada
        )
        accounts.issue_token(principal=service, name="nightly", scopes=[Scope.READ], by=people.ada)
        day = version.registered_at.date() - timedelta(days=n)
        monitoring.record_monitoring(
            version=version,
            metric="psi",
            value="0.1",
            window_start=day,
            window_end=day,
            by=people.trainer,
        )
    append_many(count * 3)  # a third of them by VIC
    ledger.checkpoint(origin=ORIGIN)


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url)
    assert page.status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", PAGES)
def test_page_takes_the_same_number_of_queries_with_fifteen_times_the_data(
    page, in_use, people, client
):
    sign_in(client, VIEWERS.get(page, "vic"))
    grow(people, in_use, 2, start=0)
    small = queries(client, PAGES[page])
    grow(people, in_use, 28, start=2)
    large = queries(client, PAGES[page])
    assert large == small


def test_the_larger_data_set_is_on_the_pages(in_use, people, client):
    """The counts above compare pages that really show the grown data, not empty ones."""
    sign_in(client, "vic")
    grow(people, in_use, 30, start=0)
    board = client.get(PAGES["dashboard"]).context["board"]
    assert board.sign_offs.total == 20  # the low tier's policy needs no validator
    assert len(board.expiring) == 1
    found = client.get(PAGES["inventory search"]).context["page"]
    assert found.paginator.count == 10
    version = client.get(VERSION_PAGE).context
    assert len(version["others"]) == 30
    assert len(version["monitoring"]["records"]) == 30
    entries = client.get(PAGES["ledger explorer"]).context["page"].entries
    assert len(entries) == 30
    assert {entry.actor for entry in entries} == {VIC.id}
    client.logout()
    sign_in(client, "alice")
    board = client.get(PAGES["dashboard"]).context["board"]
    assert (board.authorizations.total, len(board.authorizations.items)) == (30, 20)
    inbox = client.get(PAGES["approvals inbox"]).context
    assert inbox["proposals"].paginator.count == 30
    assert len(inbox["authorizations"]) == 30
    assert all(row["choices"] for row in inbox["authorizations"])
    assert client.get(PAGES["use cases"]).context["page"].paginator.count == 31
    rows = client.get(USE_CASE_PAGE).context["authorizations"]
    assert len(rows) == 31
    assert sum(1 for row in rows if row["missing"] and row["choices"]) == 30
    client.logout()
    sign_in(client, "ada")
    assert len(client.get(PAGES["users and roles"]).context["principals"]) == 41
    assert len(client.get(PAGES["service tokens"]).context["tokens"]) == 30


def test_an_auditor_and_a_person_without_a_role_cost_the_same_on_any_data(in_use, people, client):
    """The role gate itself is a fixed cost: refusing a person without a role reads nothing
    that grows."""
    grow(people, in_use, 2, start=0)
    sign_in(client, "mallory")
    with CaptureQueriesContext(connection) as small:
        refused = client.get(PAGES["ledger explorer"])
    grow(people, in_use, 28, start=2)
    with CaptureQueriesContext(connection) as large:
        client.get(PAGES["ledger explorer"])
    assert refused.status_code == 403
    assert len(large) == len(small)
