"""The database itself refuses to change or remove ledger rows."""

import pytest
from django.db import DatabaseError, connection, transaction

from auditreg.ledger import services
from auditreg.ledger.models import Checkpoint
from tests.conftest import postgres_only, raw, sqlite_only

pytestmark = pytest.mark.django_db

REFUSALS = [
    "UPDATE ledger_entry SET subject = 'model:forged' WHERE seq = 1",
    "UPDATE ledger_entry SET seq = seq + 100",
    "DELETE FROM ledger_entry WHERE seq = 2",
    "DELETE FROM ledger_entry",
    "UPDATE ledger_checkpoint SET tree_size = 1",
    "DELETE FROM ledger_checkpoint",
]


@pytest.fixture
def history(ledger):
    ledger(5)
    services.checkpoint(origin="auditreg.test/ledger")


def refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        raw(sql)
    return str(caught.value)


@pytest.mark.parametrize("sql", REFUSALS)
def test_update_and_delete_through_sql_are_refused(history, sql):
    assert "append-only" in refused(sql)
    assert services.tree_size() == 5
    assert list(Checkpoint.objects.values_list("tree_size", flat=True)) == [5]


@postgres_only
@pytest.mark.parametrize("table", ["ledger_entry", "ledger_checkpoint"])
def test_truncate_is_refused_on_postgres(history, table):
    assert "append-only" in refused(f"TRUNCATE {table} CASCADE")
    assert services.tree_size() == 5


@postgres_only
@pytest.mark.parametrize("sql", [*REFUSALS, "TRUNCATE ledger_entry"])
def test_triggers_still_fire_under_replication_role_replica(history, sql):
    # session_replication_role = replica silences ordinary triggers (it is how logical
    # replication and some restore tools skip them); ENABLE ALWAYS keeps ours on.
    raw("SET LOCAL session_replication_role = replica")
    assert "append-only" in refused(sql)
    assert services.tree_size() == 5


@postgres_only
def test_triggers_are_enabled_always(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid IN "
            "('ledger_entry'::regclass, 'ledger_checkpoint'::regclass) AND NOT tgisinternal"
        )
        triggers = dict(cursor.fetchall())
    assert len(triggers) == 4
    assert set(triggers.values()) == {"A"}


@sqlite_only
def test_insert_or_replace_cannot_delete_a_row_on_sqlite(history):
    message = refused(
        "INSERT OR REPLACE INTO ledger_entry (seq, recorded_at, kind, subject, actor, hash, "
        "subtrees, body) SELECT seq, recorded_at, kind, 'model:forged', actor, hash, subtrees, "
        "body FROM ledger_entry WHERE seq = 1"
    )
    assert "append-only" in message
    assert services.tree_size() == 5


@sqlite_only
def test_every_sqlite_connection_has_recursive_triggers_on(db):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA recursive_triggers")
        assert cursor.fetchone() == (1,)


@postgres_only
def test_insert_on_conflict_update_is_refused_on_postgres(history):
    message = refused(
        "INSERT INTO ledger_entry (seq, recorded_at, kind, subject, actor, hash, subtrees, body) "
        "SELECT seq, recorded_at, kind, subject, actor, hash, subtrees, body FROM ledger_entry "
        "WHERE seq = 1 ON CONFLICT (seq) DO UPDATE SET subject = 'model:forged'"
    )
    assert "append-only" in message
