"""H1: monitoring figures can never make a chart loop or overflow.

Two figures that round to the same 28-digit decimal, or one like 1e999999999, once made the
chart's tick loop run forever on the version page and in every model-risk report of that
version. Figures beyond the documented range are now refused where they come in; a ledger
that already holds such figures still draws its pages and issues its reports.
"""

import json
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from auditreg.accounts.domain import Scope
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.ledger.models import Entry
from auditreg.registry.models import ModelVersion
from auditreg.registry.services import monitoring
from reports import figures
from reports import services as reports
from reports.models import ReportStatus
from tests.factories import approve, authorize, deploy, make_model, make_use_case, make_version
from tests.test_api_ingest import problem, token_client
from tests.test_portal import sign_in

# Figures that once hung or crashed the chart: they round together at 28 digits, or overflow.
ROUND_TOGETHER = ["1000000000000000000000000000000", "1000000000000000000000000001000"]
OVERFLOWS = "1e999999999"


class RawJson(str):
    """A JSON number written as is in the request body (the test client cannot encode it)."""


class TookTooLong(Exception):
    pass


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: the old chart code looped forever on these figures."""

    def stop(signum: int, frame: object) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def chart(values: list[str], bounds: Sequence[str] = ()) -> str:
    points = [figures.Point(f"2026-{n + 1:02}", "all", v, False) for n, v in enumerate(values)]
    lines = [figures.Bound(f"upper {b}", b) for b in bounds]
    with at_most(10):
        return figures.monitoring_svg("psi", points, lines)


# --- The chart ---------------------------------------------------------------------------------


def test_figures_that_round_together_draw_a_chart_with_few_ticks():
    svg = chart(ROUND_TOGETHER, ["0.25"])
    assert svg.endswith("</svg>")
    assert svg.count('stroke="#e2e2e2"') <= figures.MAX_TICKS
    assert f"not drawn, beyond ±1e18: {figures.shorten(ROUND_TOGETHER[0], 16)}" in svg


def test_an_overflowing_figure_draws_the_others_and_says_it_left_one_out():
    svg = chart(["0.07", OVERFLOWS, "0.31"], ["0.25"])
    assert svg.count("<circle") == 2 + 1  # two points and the legend's dot
    assert f"not drawn, beyond ±1e18: {OVERFLOWS}" in svg


def test_equal_figures_get_an_axis_around_them():
    svg = chart(["0.3", "0.3", "0.3"])
    assert 2 <= svg.count('stroke="#e2e2e2"') <= figures.MAX_TICKS


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.decimals(allow_nan=False, allow_infinity=False).map(str)
        | st.sampled_from([OVERFLOWS, "-1e999999999", "1e-999999999", *ROUND_TOGETHER]),
        min_size=1,
        max_size=6,
    )
)
def test_any_decimal_figures_draw_a_bounded_chart(values):
    svg = chart(values, values[:1])
    assert svg.count('stroke="#e2e2e2"') <= figures.MAX_TICKS
    assert "nan" not in svg.lower().replace("nan-", "")


# --- The service boundary ----------------------------------------------------------------------


@pytest.fixture
def in_use(people) -> ModelVersion:
    model = make_model(people)
    version = approve(people, make_version(people, model))
    authorize(people, version, make_use_case(people, model))
    monitoring.set_threshold(model=model, metric="psi", upper="0.25", by=people.vic)
    return deploy(people, version)


HOSTILE = [
    pytest.param(OVERFLOWS, id="overflows"),
    pytest.param("1e18", id="a-magnitude-of-10^18"),
    pytest.param("-12345678901234567890", id="twenty-digit-integer-string"),
    pytest.param("0." + "1" * 29, id="29-significant-digits"),
    pytest.param("1e-29", id="below-10^-28"),
    pytest.param("0e99999", id="zero-with-a-huge-exponent"),
    pytest.param(RawJson("1" * 5000), id="5000-digit-json-integer"),
    pytest.param(RawJson("1e999999999"), id="json-number-that-overflows"),
    pytest.param("NaN", id="nan"),
    pytest.param("Infinity", id="infinity"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE)
def test_the_api_refuses_figures_out_of_range_and_records_nothing(people, in_use, value):
    ingest = token_client(people, Scope.INGEST)
    day = in_use.registered_at.date().isoformat()
    body = {"metric": "psi", "value": value, "window_start": day, "window_end": day}
    text = json.dumps(body)
    if isinstance(value, RawJson):
        text = text.replace(json.dumps(value), value)
    before = Entry.objects.count()
    answer = ingest.post(
        "/api/v1/models/credit-pd/versions/1/monitoring", text, content_type="application/json"
    )
    assert answer.status_code in (400, 422), answer.content
    assert problem(answer, answer.status_code)
    assert Entry.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["1e999999999", "1" * 29])
def test_thresholds_out_of_range_are_refused(people, in_use, value):
    with pytest.raises(DomainError):
        monitoring.set_threshold(model=in_use.model, metric="psi", upper=value, by=people.vic)


@pytest.mark.django_db
def test_figures_within_range_are_still_recorded_exactly(people, in_use):
    day = in_use.registered_at.date()
    for n, value in enumerate(["999999999999999999", "0.0000000000000000000000000001", "-0.5"]):
        record = monitoring.record_monitoring(
            version=in_use,
            metric="balance",
            value=value,
            window_start=day - timedelta(days=n),
            window_end=day - timedelta(days=n),
            by=people.trainer,
        )
        assert record.value == value


# --- A ledger that already holds such figures --------------------------------------------------


def poison(version: ModelVersion, by: Principal) -> None:
    """Record figures as an older release accepted them: straight through the write path."""
    day = version.registered_at.date()
    for n, value in enumerate([*ROUND_TOGETHER, OVERFLOWS]):
        window = (day - timedelta(days=n)).isoformat()
        write_fact(
            kind="monitoring.recorded",
            subject=version.subject,
            payload={
                "metric": "psi-dos",
                "value": value,
                "segment": "all",
                "window_start": window,
                "window_end": window,
                "threshold": None,
                "breach": False,
            },
            by=by,
        )


@pytest.mark.django_db
def test_the_version_page_of_a_poisoned_version_still_renders(people, in_use, client):
    poison(in_use, people.trainer)
    sign_in(client, "olga")
    with at_most(20):
        page = client.get("/models/credit-pd/versions/1")
    assert page.status_code == 200
    assert "not drawn, beyond ±1e18: " in page.text and OVERFLOWS in page.text


@pytest.mark.django_db
def test_a_model_risk_report_of_a_poisoned_version_is_issued(people, in_use, signing_dir):
    poison(in_use, people.trainer)
    request = reports.request_report(
        kind="model-risk", subject=in_use.subject, by=people.olga, queue=False
    )
    with at_most(60):
        produced = reports.produce(str(request.id))
    assert produced.status == ReportStatus.DONE
