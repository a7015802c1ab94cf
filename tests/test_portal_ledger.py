"""The ledger explorer through the test client: filters, keyset pages with a fixed number
of queries, an entry's hash and inclusion proof checked on the page, and the portal's 404."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from auditreg.ledger import services
from auditreg.ledger.export import export_ledger
from auditreg.ledger.models import Entry
from auditreg.proofs.export import LedgerBroken, verify_export
from portal.ledger import PAGE_SIZE
from tests.conftest import DANA, VIC, append_many, lift_append_only, raw
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

ORIGIN = "auditreg.test/ledger"


def seqs(page) -> list[int]:
    return [entry.seq for entry in page.context["page"].entries]


def test_auditor_sees_entries_newest_first_and_the_checkpoints(people, client):
    entries = append_many(3)
    services.checkpoint(origin=ORIGIN)
    sign_in(client, "olga")
    page = client.get("/ledger")
    assert page.status_code == 200
    shown = seqs(page)
    assert shown[:3] == [entry.seq for entry in reversed(entries)]
    assert shown == sorted(shown, reverse=True)
    assert f'href="/ledger/entries/{entries[-1].seq}"' in page.text
    checkpoint = services.latest_checkpoint()
    assert checkpoint is not None
    assert checkpoint.root_hex in page.text
    assert 'href="/ledger" aria-current="page"' in page.text


def test_filters_by_subject_kind_and_actor(people, client):
    append_many(4, subject="model:credit-pd/1")
    other = services.append(kind="test.other", subject="model:fraud/2", payload={"n": 1}, actor=VIC)
    sign_in(client, "olga")
    assert seqs(client.get("/ledger?subject=model:fraud/2")) == [other.seq]
    assert seqs(client.get("/ledger?kind=test.other")) == [other.seq]
    by_dana = client.get("/ledger", {"actor": DANA.id, "subject": "model:credit-pd/1"})
    assert len(seqs(by_dana)) == 2  # entries 0 and 3 of append_many
    assert all(e.actor == DANA.id for e in by_dana.context["page"].entries)


def test_filters_by_date_in_the_readers_time_zone(clock, people, client):
    first = append_many(1)[0]
    clock.advance(days=2)
    later = append_many(1)[0]
    sign_in(client, "olga")
    assert seqs(client.get("/ledger?from=2026-04-02&kind=test.recorded")) == [later.seq]
    assert seqs(client.get("/ledger?to=2026-03-31&kind=test.recorded")) == [first.seq]


def test_pages_follow_the_seq_cursor_without_gaps(people, client):
    append_many(PAGE_SIZE + 5)
    sign_in(client, "olga")
    first = client.get("/ledger?kind=test.recorded")
    cursor = first.context["page"].next_before
    assert cursor == seqs(first)[-1]
    second = client.get(f"/ledger?kind=test.recorded&before={cursor}")
    assert len(seqs(first)) == PAGE_SIZE
    assert len(seqs(second)) == 5
    assert second.context["page"].next_before is None
    assert seqs(second)[0] == cursor - 1


def test_ledger_pages_take_a_fixed_number_of_queries(people, client):
    sign_in(client, "olga")
    append_many(10)
    services.checkpoint(origin=ORIGIN)
    with CaptureQueriesContext(connection) as few:
        client.get("/ledger")
    append_many(90)
    services.checkpoint(origin=ORIGIN)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/ledger")
    assert len(seqs(page)) == PAGE_SIZE
    with CaptureQueriesContext(connection) as older:
        client.get(f"/ledger?before={page.context['page'].next_before}")
    assert len(many) == len(few) == len(older)


def test_entry_page_shows_the_hash_matches_and_a_verified_proof(people, client):
    entry = append_many(5)[2]
    services.checkpoint(origin=ORIGIN)
    sign_in(client, "olga")
    page = client.get(f"/ledger/entries/{entry.seq}")
    assert page.status_code == 200
    assert "The recomputed hash matches the stored one." in page.text
    assert "Verified: this entry" in page.text
    assert bytes(entry.body).decode().replace('"', "&quot;") in page.text
    assert f'href="/ledger/entries/{entry.seq - 1}"' in page.text
    assert "Warning" not in page.text


def test_an_entry_after_the_checkpoint_waits_for_the_next_one(people, client):
    append_many(2)
    services.checkpoint(origin=ORIGIN)
    entry = append_many(1)[0]
    sign_in(client, "olga")
    page = client.get(f"/ledger/entries/{entry.seq}")
    assert "it will be in the next checkpoint" in page.text


def test_a_tampered_body_shows_the_mismatch(people, client):
    entry = append_many(3)[1]
    services.checkpoint(origin=ORIGIN)
    lift_append_only()
    tampered = bytes(entry.body).replace(b'"score":"0.8412"', b'"score":"0.9900"')
    assert tampered != bytes(entry.body)
    raw("UPDATE ledger_entry SET body = %s WHERE seq = %s", [tampered, entry.seq])
    sign_in(client, "olga")
    page = client.get(f"/ledger/entries/{entry.seq}")
    assert "does not match the stored one" in page.text
    assert "the inclusion proof does not verify" in page.text
    assert "The recomputed hash matches" not in page.text


def test_a_person_without_a_role_sees_no_ledger(people, client):
    entry = append_many(1)[0]
    sign_in(client, "mallory")
    for path in ("/ledger", f"/ledger/entries/{entry.seq}"):
        response = client.get(path)
        assert response.status_code == 403
        assert entry.hash_hex not in response.text


def test_anonymous_visitor_is_sent_to_sign_in(db, client):
    assert client.get("/ledger")["Location"].startswith("/login?next=")


def test_unknown_entry_and_portal_url_are_html_404_in_the_layout(people, client):
    sign_in(client, "olga")
    for path in ("/no-such-page", f"/ledger/entries/{Entry.objects.count() + 50}"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")
        assert "Page not found" in response.text
        assert 'href="/ledger"' in response.text  # the portal's navigation


def test_unknown_api_url_is_still_a_problem(db, client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


# --- Export for auditors ----------------------------------------------------------------------


def download(client) -> bytes:
    response = client.get("/ledger/export")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="ledger-export-')
    return b"".join(response.streaming_content)


def test_auditor_downloads_an_export_the_offline_verifier_accepts(people, client, tmp_path):
    from auditreg.client.cli import main as auditreg

    append_many(7)
    services.checkpoint(origin=ORIGIN)
    append_many(2)  # after the checkpoint: exported and verified by the chain
    sign_in(client, "olga")
    exported = download(client)
    verdict = verify_export(io.BytesIO(exported))
    assert verdict.entries == Entry.objects.count()
    assert len(verdict.checkpoints) == 1
    path = tmp_path / "ledger-export.jsonl"
    path.write_bytes(exported)
    assert auditreg(["verify", str(path)]) == 0


def test_the_export_is_the_same_as_the_export_command(people, client, clock):
    append_many(3)
    services.checkpoint(origin=ORIGIN)
    written = io.BytesIO()
    export_ledger(written)
    sign_in(client, "olga")
    assert download(client) == written.getvalue()


def test_a_tampered_byte_in_the_export_is_caught(people, client):
    append_many(5)
    services.checkpoint(origin=ORIGIN)
    sign_in(client, "olga")
    exported = download(client)
    assert b'"score\\":\\"0.8412\\"' in exported
    tampered = exported.replace(b'"score\\":\\"0.8412\\"', b'"score\\":\\"0.8413\\"', 1)
    with pytest.raises(LedgerBroken, match="hash mismatch"):
        verify_export(io.BytesIO(tampered))


def test_the_export_streams_in_pieces(people, client, monkeypatch):
    monkeypatch.setattr("auditreg.ledger.export.EXPORT_CHUNK", 512)
    append_many(20)
    sign_in(client, "olga")
    response = client.get("/ledger/export")
    pieces = list(response.streaming_content)
    assert len(pieces) > 3
    assert verify_export(io.BytesIO(b"".join(pieces))).entries == Entry.objects.count()


def test_a_person_without_a_role_cannot_export(people, client):
    append_many(2)
    sign_in(client, "mallory")
    response = client.get("/ledger/export")
    assert response.status_code == 403
    assert not response.streaming
    assert client.post("/ledger/export").status_code in (403, 405)
    client.logout()
    assert client.get("/ledger/export").status_code == 302


def test_the_ledger_page_links_the_export(people, client):
    sign_in(client, "olga")
    page = client.get("/ledger")
    assert 'href="/ledger/export"' in page.text
    assert "auditreg verify ledger-export.jsonl" in page.text
