"""The version page's lineage graph and the lineage node pages it links to: upstream and
downstream, every box a link, a plain list of the same nodes, and a fixed number of queries
however large the graph."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lineage import services as lineage
from lineage.models import Node
from tests.factories import approve, authorize, make_model, make_use_case, reload
from tests.test_lineage import data, digest, train  # noqa: F401 - `data` is a fixture
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

PAGE = "/models/credit-pd/versions/1"
SNAPSHOT = "dataset:applications@2026-06"


@pytest.fixture
def trained(people, data):  # noqa: F811
    """credit-pd version 1, trained on applications data derived from bureau data, approved
    and authorized for US retail PD."""
    model = make_model(people)
    version = approve(people, train(people, model, 1))
    authorize(people, reload(version), make_use_case(people, model))
    return reload(version)


def svg_links(text: str) -> list[str]:
    figure = text.split('class="figure lineage-graph"', 1)[1].split("</svg>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', figure)


def test_the_graph_links_every_node_upstream_and_downstream(trained, client):
    sign_in(client, "olga")
    page = client.get(PAGE)
    assert page.status_code == 200
    links = svg_links(page.text)
    assert "/lineage/run:train-1" in links
    assert f"/lineage/{SNAPSHOT}" in links
    assert "/lineage/dataset:bureau@2026-06" in links  # two steps further up, through a run
    assert PAGE in links  # the version's own box
    assert any("usecase" in link or "us-retail-pd" in link for link in links)
    assert 'role="group" aria-label="Lineage graph"' in page.text
    assert "<title>use case: us-retail-pd (active, as version)</title>" in page.text


def test_the_same_nodes_are_listed_as_plain_links(trained, client):
    sign_in(client, "olga")
    page = client.get(PAGE)
    graph = page.context["graph"]
    upstream = {n["subject"] for n in graph["upstream"]}
    assert {"run:train-1", SNAPSHOT, "dataset:bureau@2026-06"} <= upstream
    assert [n["subject"] for n in graph["downstream"]] == ["usecase:us-retail-pd"]
    assert f'<a class="mono" href="/lineage/{SNAPSHOT}">{SNAPSHOT}</a>' in page.text
    assert 'id="downstream-heading"' in page.text


def test_a_version_used_for_nothing_says_so(people, data, client):  # noqa: F811
    train(people, make_model(people), 1)
    sign_in(client, "olga")
    page = client.get(PAGE)
    assert page.context["graph"]["downstream"] == []
    assert "authorized for no use case" in page.text


def test_a_node_page_shows_its_facts_neighbours_and_entries(trained, client):
    sign_in(client, "olga")
    page = client.get(f"/lineage/{SNAPSHOT}")
    assert page.status_code == 200
    node = Node.objects.get(subject=SNAPSHOT)
    assert node.digest in page.text
    assert "1200" in page.text  # its rows
    assert 'href="/lineage/run:features-2026-06"' in page.text  # upstream: the run that made it
    assert f'href="{PAGE}"' in page.text  # downstream: the version trained on it
    assert 'href="/lineage/run:train-1"' in page.text
    assert f'href="/ledger/entries/{node.recorded_seq}"' in page.text
    assert re.search(r"\d{4}, \d\d:\d\d:\d\d E[SD]T", page.text)  # in Olga's New York time


def test_a_version_node_links_to_its_version_page(trained, client):
    sign_in(client, "olga")
    page = client.get(f"/lineage/{trained.subject}")
    assert page.status_code == 200
    assert f'href="{PAGE}"' in page.text


def test_an_unknown_node_is_not_found(trained, client):
    sign_in(client, "olga")
    assert client.get("/lineage/dataset:nothing@here").status_code == 404


def test_a_person_without_a_role_sees_no_node(trained, client):
    sign_in(client, "mallory")
    response = client.get(f"/lineage/{SNAPSHOT}")
    assert response.status_code == 403
    assert Node.objects.get(subject=SNAPSHOT).digest not in response.text


def test_version_page_queries_do_not_grow_with_the_lineage(trained, people, client):
    sign_in(client, "olga")
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    # A second model like the first, whose data comes from six more raw datasets. (The first
    # version's own lineage cannot grow: it is signed, and a signature's lineage is fixed.)
    by = people.trainer
    for n in range(6):
        lineage.record_dataset(name=f"raw-{n}", by=by)
        lineage.record_snapshot(dataset=f"raw-{n}", label="2026-07", digest=digest(f"r{n}"), by=by)
    derived = "dataset:applications@2026-07"
    lineage.record_snapshot(
        dataset="applications", label="2026-07", digest=digest("applications 7"), by=by
    )
    lineage.record_run(
        facts={
            "id": "features-2026-07",
            "status": "completed",
            "inputs": [f"dataset:raw-{n}@2026-07" for n in range(6)],
            "outputs": [derived],
        },
        by=by,
    )
    model = make_model(people, slug="big-pd")
    version = approve(people, train(people, model, 2, snapshot=derived))
    authorize(people, reload(version), make_use_case(people, model, slug="big-retail-pd"))
    with CaptureQueriesContext(connection) as many:
        page = client.get("/models/big-pd/versions/1")
    assert len(page.context["graph"]["upstream"]) >= 10
    assert len(many) == len(few)
