"""L3 (registry part): identical or contradicting writes racing without an Idempotency-Key
record one fact and never answer 500. Each write locks its subject, then re-reads, checks
and writes; on PostgreSQL these threads really run at once (SQLite serializes writers)."""

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role, Scope
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.ledger.models import Entry
from tests.conftest import postgres_only
from tests.test_api_ingest import MODEL, post, token_client

pytestmark = postgres_only

WRITERS = 8


def at_once(action: Callable[[int], Any]) -> list[Any]:
    """Run `action(n)` in WRITERS threads released together; each result or exception."""
    barrier = threading.Barrier(WRITERS)
    results: list[Any] = [None] * WRITERS

    def run(n: int) -> None:
        try:
            barrier.wait()
            results[n] = action(n)
        except Exception as exc:
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_identical_model_registrations_record_one_fact(transactional_db, people):
    clients = [token_client(people, Scope.INGEST) for _ in range(WRITERS)]
    answers = at_once(lambda n: post(clients[n], "models", MODEL).status_code)
    assert set(answers) <= {200, 201}, answers
    assert Entry.objects.filter(kind="model.registered").count() == 1


def test_contradicting_model_registrations_record_one_and_refuse_the_rest(transactional_db, people):
    clients = [token_client(people, Scope.INGEST) for _ in range(WRITERS)]
    answers = at_once(
        lambda n: post(clients[n], "models", {**MODEL, "owner": f"Team {n}"}).status_code
    )
    assert Counter(answers)[201] == 1 and set(answers) <= {201, 409, 422}, answers
    assert Entry.objects.filter(kind="model.registered").count() == 1


def test_racing_grants_of_one_role_record_it_once(transactional_db, people):
    vic = Principal.objects.get(actor_id="user:vic")
    results = at_once(
        lambda n: accounts.grant_role(principal=vic, role=Role.APPROVER, by=people.ada)
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == WRITERS - 1, results
    assert Entry.objects.filter(kind="role.granted", subject="user:vic").count() == 2


def test_racing_enrolments_of_one_person_record_one(transactional_db, people):
    results = at_once(
        lambda n: accounts.enroll_person(
            username="nina", printed_name="Nina New", roles=[Role.AUDITOR], by=people.ada
        )
    )
    assert sum(isinstance(r, Principal) for r in results) == 1, results
    assert all(isinstance(r, (Principal, DomainError)) for r in results), results
    assert Entry.objects.filter(kind="principal.enrolled", subject="user:nina").count() == 1
