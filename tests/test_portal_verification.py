"""Ledger verification runs from the portal, the schedule and the command: one at a time, a
stuck run does not block forever, a tampered ledger shows as broken at its first bad seq (also
in a Celery worker's own process), and the dashboard shows the last result. Runs belong to the
ledger app and keep the table they had in the portal. Also the portal's 500 page."""

import io
import multiprocessing
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import path

from auditreg.celery import app as celery_app
from auditreg.ledger import integrity, services, tasks
from auditreg.ledger.models import Entry, VerificationRun
from auditreg.ledger.verification import start_verification
from auditreg.urls import handler404, urlpatterns
from tests.conftest import append_many, lift_append_only, raw
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

ORIGIN = "auditreg.test/ledger"


@pytest.fixture
def eager():
    """Queued tasks run at once, in this process (there is no worker in these tests)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def start(client, **extra):
    return client.post("/ledger/verifications", follow=True, **extra)


def test_auditor_starts_a_verification_and_sees_it_intact(
    people, client, eager, django_capture_on_commit_callbacks
):
    append_many(5)
    services.checkpoint(origin=ORIGIN)
    sign_in(client, "olga")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        page = start(client)
    assert len(queued) == 1
    run = VerificationRun.objects.get()
    assert run.status == VerificationRun.INTACT
    assert run.started_by == "user:olga"
    assert run.entries_verified == services.latest_checkpoint().tree_size  # type: ignore[union-attr]
    assert run.checkpoints_checked == 1
    assert run.finished_at is not None
    page = client.get("/ledger")
    assert "Olga Auditor" in page.text
    assert f"Intact: all {run.entries_verified} entries and 1 signed checkpoints" in page.text


def test_a_second_start_is_refused_while_one_is_running(people, client):
    sign_in(client, "olga")
    first = start(client)
    assert "Verification started" in first.text
    second = start(client)
    assert "is still running" in second.text
    assert "Olga Auditor" in second.text
    assert VerificationRun.objects.count() == 1


def test_a_run_stuck_after_its_worker_died_does_not_block_forever(clock, people, client):
    stuck = start_verification(by="user:vic", name="Victor Validator")
    clock.advance(hours=7)
    sign_in(client, "olga")
    assert "Verification started" in start(client).text
    stuck.refresh_from_db()
    assert stuck.status == VerificationRun.ERROR
    assert "the worker running it stopped" in stuck.reason
    assert VerificationRun.objects.filter(status=VerificationRun.RUNNING).count() == 1


def test_a_command_run_neither_blocks_nor_is_blocked(people):
    append_many(3)
    running = start_verification(by=VerificationRun.SCHEDULE)
    out = io.StringIO()
    call_command("verify_ledger", "--quiet", stdout=out)
    assert f"ledger intact: {Entry.objects.count()} entries" in out.getvalue()
    command = VerificationRun.objects.get(started_by=VerificationRun.COMMAND)
    assert command.status == VerificationRun.INTACT
    assert command.summary == out.getvalue().strip()
    running.refresh_from_db()
    assert running.status == VerificationRun.RUNNING


def test_a_tampered_ledger_is_broken_at_the_first_bad_seq(people, client):
    entries = append_many(6)
    services.checkpoint(origin=ORIGIN)
    bad = entries[2]
    lift_append_only()
    tampered = bytes(bad.body).replace(b'"score":"0.8412"', b'"score":"0.9900"')
    raw("UPDATE ledger_entry SET body = %s WHERE seq = %s", [tampered, bad.seq])
    run = start_verification(by="user:olga", name="Olga Auditor")
    assert tasks.verify_ledger_run(run.pk) == VerificationRun.BROKEN
    run.refresh_from_db()
    assert run.first_bad_seq == bad.seq
    assert "hash mismatch" in run.reason
    sign_in(client, "olga")
    page = client.get("/ledger")
    assert f"Broken: the ledger is not intact from entry {bad.seq} on." in page.text
    assert f'href="/ledger/entries/{bad.seq}"' in page.text
    board = client.get("/")
    assert "broken" in board.text
    assert f"from entry {bad.seq} on" in board.text


def test_a_worker_verifies_in_its_own_process_and_finds_the_tampered_entry(people, monkeypatch):
    """Celery's pool processes are daemons, which may not have children: the task checks in
    its own process, a helper thread reading the next batch meanwhile, and stops at the first
    bad entry with that thread gone and the connection still usable."""
    entries = append_many(8)
    services.checkpoint(origin=ORIGIN)
    bad = entries[3]
    lift_append_only()
    tampered = bytes(bad.body).replace(b'"score":"0.8412"', b'"score":"0.9900"')
    raw("UPDATE ledger_entry SET body = %s WHERE seq = %s", [tampered, bad.seq])
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    # Batches of two: a fetch is still in flight when the check stops at the bad entry.
    monkeypatch.setattr(integrity, "CHUNK", 2)
    threads = threading.active_count()
    run = start_verification(by=VerificationRun.SCHEDULE)
    assert tasks.verify_ledger_run(run.pk) == VerificationRun.BROKEN
    run.refresh_from_db()
    assert run.first_bad_seq == bad.seq
    assert "hash mismatch" in run.reason
    assert not multiprocessing.active_children()
    assert threading.active_count() == threads
    assert Entry.objects.filter(seq__gte=bad.seq).count() == entries[-1].seq - bad.seq + 1


def test_verification_runs_belong_to_the_ledger_and_keep_their_portal_table():
    assert VerificationRun._meta.app_label == "ledger"
    assert VerificationRun._meta.db_table == "portal_verificationrun"
    assert "portal_verificationrun" in connection.introspection.table_names()


def test_the_command_records_a_broken_ledger_and_exits_1(people):
    entries = append_many(4)
    lift_append_only()
    raw("DELETE FROM ledger_entry WHERE seq = %s", [entries[1].seq])
    with pytest.raises(CommandError) as caught:
        call_command("verify_ledger", "--quiet")
    assert caught.value.returncode == 1
    assert f"seq {entries[1].seq}: entry is missing" in str(caught.value)
    run = VerificationRun.objects.get()
    assert (run.status, run.first_bad_seq) == (VerificationRun.BROKEN, entries[1].seq)


def test_a_redelivered_task_leaves_the_recorded_result(people):
    append_many(2)
    size = Entry.objects.count()
    run = start_verification(by=VerificationRun.SCHEDULE)
    tasks.verify_ledger_run(run.pk)
    finished = VerificationRun.objects.get(pk=run.pk).finished_at
    append_many(1)
    assert tasks.verify_ledger_run(run.pk) == VerificationRun.INTACT
    again = VerificationRun.objects.get(pk=run.pk)
    assert (again.finished_at, again.entries_verified) == (finished, size)


def test_the_schedule_records_its_run_and_skips_while_one_runs(people):
    append_many(2)
    assert tasks.verify_ledger_on_schedule() == VerificationRun.INTACT
    assert VerificationRun.objects.get().starter == "the daily schedule"
    start_verification(by="user:olga")
    assert tasks.verify_ledger_on_schedule() == "skipped"
    assert VerificationRun.objects.count() == 2


def test_a_verification_that_cannot_run_is_an_error_in_plain_words(people, keys_dir):
    (keys_dir / "damaged.vkey").write_text("not a key")
    run = start_verification(by=VerificationRun.SCHEDULE)
    assert tasks.verify_ledger_run(run.pk) == VerificationRun.ERROR
    run.refresh_from_db()
    assert run.in_words.startswith("Could not be completed: ")
    assert "damaged.vkey is not a valid verifier key" in run.reason
    assert run.first_bad_seq is None


def test_the_dashboard_shows_the_last_verification_and_the_checkpoint(clock, people, client):
    append_many(2)
    services.checkpoint(origin=ORIGIN)
    tasks.verify_ledger_run(start_verification(by=VerificationRun.COMMAND).pk)
    sign_in(client, "olga")
    board = client.get("/")
    assert "Last verification: <strong>intact</strong>" in board.text
    assert "31 Mar 2026, 08:00 EDT" in board.text  # noon UTC, in Olga's New York time
    assert "the verify_ledger command" in board.text
    assert "later release" not in board.text


def test_the_dashboard_says_when_the_ledger_was_never_verified(people, client):
    sign_in(client, "olga")
    assert "The ledger has not been verified yet." in client.get("/").text


# --- Who may start one ----------------------------------------------------------------------


def test_a_person_without_a_role_cannot_start_one(people, client):
    sign_in(client, "mallory")
    response = client.post("/ledger/verifications")
    assert response.status_code == 403
    assert not VerificationRun.objects.exists()


def test_an_anonymous_post_starts_nothing(people, client):
    response = client.post("/ledger/verifications")
    assert response.status_code == 302
    assert response["Location"].startswith("/login")
    assert not VerificationRun.objects.exists()


def test_a_forged_post_without_the_csrf_token_starts_nothing(people):
    forged = Client(enforce_csrf_checks=True)
    sign_in(forged, "olga")
    assert forged.post("/ledger/verifications").status_code == 403
    assert not VerificationRun.objects.exists()


def test_a_get_starts_nothing(people, client):
    sign_in(client, "olga")
    assert client.get("/ledger/verifications").status_code == 405
    assert not VerificationRun.objects.exists()


def test_the_ledger_page_has_the_button_with_its_csrf_token(people, client):
    sign_in(client, "vic")
    page = client.get("/ledger")
    assert 'action="/ledger/verifications"' in page.text
    assert "csrfmiddlewaretoken" in page.text
    assert "The ledger has not been verified yet." in page.text


# --- The 500 page ---------------------------------------------------------------------------


def boom(request):
    raise RuntimeError("secret detail: password=hunter2 at /srv/auditreg/settings.py")


# A URL configuration with a view that fails, under the project's own error handlers.
test_urls = [path("boom", boom), path("api/v1/boom", boom), *urlpatterns]


class FailingUrls:
    urlpatterns = test_urls
    handler404 = handler404
    handler500 = "auditreg.handlers.server_error"


def test_the_project_uses_its_own_500_handler():
    from auditreg import urls

    assert urls.handler500 == FailingUrls.handler500


@pytest.fixture
def failing_urls(settings):
    import sys

    sys.modules["tests._failing_urls"] = FailingUrls  # type: ignore[assignment]
    settings.ROOT_URLCONF = "tests._failing_urls"
    yield
    del sys.modules["tests._failing_urls"]


def test_a_failing_portal_page_shows_the_500_page_without_details(people, failing_urls):
    client = Client(raise_request_exception=False)
    sign_in(client, "olga")
    response = client.get("/boom")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "Something went wrong" in response.text
    assert 'class="skip-link"' in response.text  # the portal's layout
    for leak in ("hunter2", "RuntimeError", "Traceback", "/srv/auditreg", "Olga Auditor"):
        assert leak not in response.text


def test_a_failing_api_call_still_answers_problem_json(failing_urls):
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 500
    assert "hunter2" not in response.text
