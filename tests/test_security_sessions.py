"""Info finding: a report page's status poll must not keep an idle session alive for ever.
Every request a person makes renews the session; the page's own timer does not."""

import pytest

from reports import services as reports
from tests.factories import make_model, make_version
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db


def test_polling_a_reports_status_does_not_keep_the_session_alive(clock, people, client):
    version = make_version(people, make_model(people))
    request = reports.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    sign_in(client, "olga")
    poll = f"/reports/{request.id}/status"
    for _ in range(5):  # a poll every 5 minutes, nobody at the keyboard
        clock.advance(minutes=5)
        assert client.get(poll).status_code == 200
    clock.advance(minutes=6)
    assert client.get(poll).status_code == 302  # signed out: 31 minutes without activity
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_a_persons_own_requests_still_renew_the_session(clock, people, client):
    sign_in(client, "olga")
    for _ in range(3):
        clock.advance(minutes=25)
        assert client.get("/reports").status_code == 200
