"""Model and version pages through the test client: the facts a reviewer reads, roles, the
diff between versions, and a fixed number of queries whatever the monitoring history."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from auditreg.registry.services import monitoring, versions
from tests.factories import (
    approve,
    authorize,
    deploy,
    make_model,
    make_package,
    make_use_case,
    make_version,
)
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

PAGE = "/models/credit-pd/versions/1"


@pytest.fixture
def in_use(clock, people):
    """credit-pd version 1: approved, authorized for US retail PD, in production."""
    model = make_model(people)
    version = approve(people, make_version(people, model))
    authorize(people, version, make_use_case(people, model))
    monitoring.set_threshold(model=model, metric="psi", upper="0.25", by=people.vic)
    return deploy(people, version)


def record(people, version, count: int, start: int = 0) -> None:
    today = version.registered_at.date()
    for n in range(start, start + count):
        day = today - timedelta(days=n)
        monitoring.record_monitoring(
            version=version,
            metric=f"metric-{n % 5}",
            value="0.1",
            window_start=day,
            window_end=day,
            by=people.trainer,
        )


def test_auditor_reads_the_model_page_with_its_versions(in_use, client):
    sign_in(client, "olga")
    page = client.get("/models/credit-pd")
    assert page.status_code == 200
    assert "Retail Credit Risk" in page.text
    assert f'href="{PAGE}"' in page.text
    assert "us-retail-pd" in page.text


def test_the_model_page_lists_versions_and_use_cases_a_page_at_a_time(
    in_use, people, client, monkeypatch
):
    monkeypatch.setattr("portal.versions.PAGE_SIZE", 2)
    for n in (2, 3):
        make_version(people, in_use.model, n)
    make_use_case(people, in_use.model, slug="us-retail-pd-2")
    make_use_case(people, in_use.model, slug="us-retail-pd-3")
    sign_in(client, "olga")
    first = client.get("/models/credit-pd").text
    assert "3 versions, page 1 of 2" in first
    assert 'href="/models/credit-pd/versions/3"' in first
    assert PAGE not in first
    assert 'href="?page=2" rel="next"' in first
    assert 'href="?uses=2" rel="next"' in first
    second = client.get("/models/credit-pd?page=2&uses=2").text
    assert f'href="{PAGE}"' in second
    assert "us-retail-pd-3" in second and "us-retail-pd-2" not in second
    assert 'href="?uses=2&amp;page=1" rel="prev"' in second


def test_auditor_reads_the_version_page_with_its_facts(in_use, people, client):
    monitoring.record_monitoring(
        version=in_use,
        metric="psi",
        value="0.31",
        window_start=in_use.registered_at.date(),
        window_end=in_use.registered_at.date(),
        by=people.trainer,
    )
    sign_in(client, "olga")
    page = client.get(PAGE)
    assert page.status_code == 200
    text = page.text
    assert in_use.package_digest in text
    assert in_use.artifact_digest in text
    for name in ("Dana Developer", "Victor Validator", "Alice Approver", "Marc Riskcommittee"):
        assert name in text
    assert "US retail PD scoring" in text
    assert "Quarterly PSI below 0.25" in text
    assert "<svg" in text and "&lt;svg" not in text
    assert "upper 0.25" in text
    assert "0.31" in text  # the breach, drawn on the chart
    assert f'href="/ledger/entries/{in_use.registered_seq}"' in text


def test_a_person_without_a_role_sees_no_model_or_version(in_use, client):
    sign_in(client, "mallory")
    for path in ("/models/credit-pd", PAGE):
        response = client.get(path)
        assert response.status_code == 403
        assert in_use.package_digest not in response.text


def test_an_unknown_model_or_version_is_not_found(in_use, client):
    sign_in(client, "olga")
    assert client.get("/models/no-such-model").status_code == 404
    assert client.get("/models/credit-pd/versions/9").status_code == 404
    assert client.get("/models/no-such-model/versions/1").status_code == 404


def test_the_diff_shows_a_changed_parameter(in_use, people, client):
    package = make_package(2, hyperparameters={"num_leaves": 127, "learning_rate": "0.05"})
    versions.register_version(model=in_use.model, package=package, by=people.trainer)
    sign_in(client, "olga")
    page = client.get("/models/credit-pd/versions/2?diff=1")
    assert page.status_code == 200
    changed = [m for m in page.context["diff"]["mappings"] if m["what"] == "parameter num_leaves"]
    assert changed == [{"what": "parameter num_leaves", "before": "63", "after": "127"}]
    assert "parameter num_leaves" in page.text
    assert "has no version 7" in client.get("/models/credit-pd/versions/2?diff=7").text


def test_version_page_queries_do_not_grow_with_monitoring_figures(
    in_use, people, client, django_assert_max_num_queries
):
    sign_in(client, "olga")
    record(people, in_use, 3)
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    record(people, in_use, 27, start=3)
    with django_assert_max_num_queries(len(few)):
        page = client.get(PAGE)
    assert len(page.context["monitoring"]["records"]) == 30
    assert page.text.count("<svg") >= 5
