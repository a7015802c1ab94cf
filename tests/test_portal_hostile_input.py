"""The portal answers malformed input with a 4xx page or a message on the page, never a
server error: Unicode digits where a number is expected, and NUL characters, which
PostgreSQL can neither compare nor store, in a URL or a form."""

import pytest
from django.contrib.auth import get_user_model

from auditreg.ledger.models import Entry
from tests.factories import People, make_model, make_version, submit


@pytest.fixture
def reader(people: People, client):
    model = make_model(people)
    make_version(people, model, 1)
    submit(people, make_version(people, model, 2))
    client.force_login(get_user_model().objects.get(username="vic"))
    return client


@pytest.mark.parametrize("before", ["%C2%B2", "%D9%A3", "-1", "1e3", "99999999999999999999"])
def test_a_ledger_cursor_that_is_no_seq_is_a_400(reader, before):
    # "²".isdigit() is True and int("²") raises; "٣" would be read as 3.
    assert reader.get(f"/ledger?before={before}").status_code == 400


def test_a_ledger_cursor_that_is_a_seq_still_pages(reader):
    page = reader.get("/ledger?before=5")
    assert page.status_code == 200
    assert [entry.seq for entry in page.context["page"].entries] == [4, 3, 2, 1, 0]


@pytest.mark.parametrize("diff", ["%C2%B2", "%D9%A3", "-1", "9" * 5000])
def test_a_diff_with_no_version_number_says_so_on_the_page(reader, diff):
    page = reader.get(f"/models/credit-pd/versions/2?diff={diff}")
    assert page.status_code == 200
    assert page.context["diff"] is None
    assert "Credit Pd has no version" in page.context["diff_refusal"]


@pytest.mark.parametrize(
    "url",
    [
        "/models?q=%00",
        "/models?owner=a%00b",
        "/ledger?subject=%00",
        "/ledger?kind=x%00",
        "/lineage/%00",
        "/lineage/dataset:a%00b",
        "/administration/principals/user:%00",
        "/reports?kind=%00",
    ],
)
def test_a_nul_character_in_a_portal_url_is_a_400(reader, url):
    answer = reader.get(url)
    assert answer.status_code == 400
    assert "NUL character" in answer.text


@pytest.mark.parametrize("multipart", [False, True], ids=["url-encoded", "multipart"])
def test_a_nul_character_in_a_form_is_a_400_and_records_nothing(reader, multipart):
    """The comment of a signature would reach the signatures table, where PostgreSQL
    cannot store it: refused before the view runs, however the form is encoded."""
    fields = {
        "meaning": "validated",
        "role": "validator",
        "password": "pw-vic-correct",
        "comment": "looks fine\x00",
        "content_sha256": "sha256:" + "0" * 64,
    }
    before = Entry.objects.count()
    url = "/models/credit-pd/versions/2/sign"
    if multipart:
        answer = reader.post(url, fields)
    else:
        body = "&".join(f"{name}={value.replace(chr(0), '%00')}" for name, value in fields.items())
        answer = reader.post(url, body, content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400
    assert Entry.objects.count() == before
