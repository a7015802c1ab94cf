"""The registry is a projection of the ledger: replay rebuilds it exactly, and any row changed,
added or removed behind the ledger's back is reported."""

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.utils import timezone

from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.facts import replay
from auditreg.facts.projections import keys, tables
from auditreg.ledger import services as ledger
from auditreg.proofs.entry import Actor
from auditreg.registry.domain import Meaning
from auditreg.registry.models import ModelVersion, Signature
from auditreg.registry.services import signatures
from lineage.services import record_openlineage_event
from tests.conftest import postgres_only, raw
from tests.factories import approve, authorize, deploy, make_model, make_use_case, make_version
from tests.test_openlineage import an_event


@pytest.fixture
def history(people):
    model = make_model(people)
    first = approve(people, make_version(people, model))
    use_case = make_use_case(people, model)
    authorize(people, first, use_case)
    deploy(people, first)
    return first


def check_fails(match: str) -> None:
    with pytest.raises(CommandError, match="does NOT match the ledger"):
        call_command(
            "replay_ledger", "--check", stdout=io.StringIO(), stderr=(err := io.StringIO())
        )
    assert match in err.getvalue(), err.getvalue()


def test_replay_check_passes_on_a_real_history(history, capsys):
    call_command("replay_ledger", "--check")
    out = capsys.readouterr().out
    assert out.startswith(f"registry matches the ledger: {ledger.tree_size()} entries")


def test_replay_rebuilds_every_table_exactly(history):
    live = {table: _rows(table) for table in keys()}
    assert all(live[table] for table in ("principal", "version", "signature", "authorization"))
    replay.rebuild()
    assert {table: _rows(table) for table in keys()} == live


def test_a_projection_row_changed_behind_the_ledgers_back_is_reported(history):
    raw("UPDATE registry_modelversion SET stage = 'approved' WHERE subject = %s", [history.subject])
    check_fails(f"version {history.subject}: stage is 'approved' in the table, 'production'")


def test_a_signature_moved_to_another_record_is_reported(history, people):
    other = make_version(people, history.model, 2)
    seq = Signature.objects.filter(version=history).earliest("seq").seq
    raw(
        "UPDATE registry_signature SET subject = %s, version = %s WHERE seq = %s",
        [other.subject, other.subject, seq],
    )
    check_fails(f"signature {seq}: subject is '{other.subject}' in the table")


def test_a_row_added_or_deleted_behind_the_ledgers_back_is_reported(history):
    raw("DELETE FROM registry_stageperiod WHERE seq = (SELECT MAX(seq) FROM registry_stageperiod)")
    check_fails("in the ledger but missing from the table")
    replay.rebuild()
    raw(
        "INSERT INTO registry_roleassignment (principal, role, granted_seq) "
        "VALUES ('user:mallory', 'approver', 1)"
    )
    check_fails("role_assignment user:mallory/approver: in the table but not in the ledger")


def test_rebuild_repairs_a_tampered_table(history):
    raw("UPDATE registry_modelversion SET package_digest = 'sha256:forged'")
    replay.rebuild()
    assert replay.check().clean
    assert ModelVersion.objects.get(subject=history.subject).package_digest == (
        history.package_digest
    )


def test_an_entry_the_services_would_never_write_fails_replay(history):
    ledger.append(
        kind="stage.changed",
        subject=history.subject,
        payload={"from": "development", "to": "production", "reason": "forged"},
        actor=Actor("user:mallory", "Mallory Nobody"),
    )
    with pytest.raises(CommandError, match=f"replay failed: entry {ledger.tree_size() - 1}: "):
        call_command("replay_ledger", "--check")


def test_entries_of_other_kinds_leave_the_registry_alone(history):
    ledger.append(
        kind="ledger.exported",
        subject="ledger:main",
        payload={"purpose": "audit"},
        actor=Actor("user:olga", "Olga Auditor"),
    )
    assert replay.check().clean


def test_seed_demo_history_replays_and_answers_as_of(db, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "use case us-retail-credit-pd" in out
    assert "in use: model:credit-pd/3" in out  # before the rollback
    assert "in use: model:credit-pd/2" in out  # after it
    assert "REVIEW REQUIRED" in out
    assert replay.check().clean
    call_command("as_of", "--use-case", "lvo-triage-cta-adults")
    answer = capsys.readouterr().out
    assert "in use: model:stroke-lvo/2" in answer
    assert "fallback model:stroke-lvo/1" in answer
    assert "credit-pd" not in answer
    call_command("seed_demo")
    assert "already present" in capsys.readouterr().out


def test_as_of_command_refuses_a_bad_moment_or_unknown_use_case(db):
    with pytest.raises(CommandError, match="not an ISO 8601"):
        call_command("as_of", "--at", "yesterday")
    with pytest.raises(CommandError, match="no use case 'nope'"):
        call_command("as_of", "--use-case", "nope")


def test_as_of_a_date_means_the_end_of_that_day(history, capsys):
    call_command("as_of", "--at", timezone.localdate().isoformat())
    assert f"production {history.subject}" in capsys.readouterr().out


def _rows(table: str) -> list[tuple[object, ...]]:
    names = replay.columns(table)
    return sorted(tables()[table]._default_manager.values_list(*names), key=repr)


def test_replay_ledger_checks_by_default_and_rewrites_only_when_confirmed(history):
    raw("UPDATE registry_modelversion SET stage = 'retired' WHERE subject = %s", [history.subject])
    with pytest.raises(CommandError, match="does NOT match the ledger"):
        call_command("replay_ledger", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="add --yes"):
        call_command("replay_ledger", "--rebuild", stdout=io.StringIO())
    assert ModelVersion.objects.get(pk=history.pk).stage == "retired"  # nothing rewritten
    call_command("replay_ledger", "--rebuild", "--yes", stdout=io.StringIO())
    call_command("replay_ledger", stdout=io.StringIO())


# --- Every projected table, whatever the projections ---------------------------------------


@pytest.fixture
def every_table(db: None) -> None:
    """The demo's history, and what it lacks (a refused signature, an OpenLineage event), so
    that every projected table holds rows."""
    call_command("seed_demo", stdout=io.StringIO())
    version = ModelVersion.objects.order_by("registered_seq").first()
    assert version is not None
    with pytest.raises(DomainError, match="password is not correct"):
        signatures.sign(
            record=version,
            meaning=Meaning.AUTHORED,
            role=Role.DEVELOPER,
            password="not the password",
            by=Principal.objects.get(actor_id="user:dana"),
        )
    record_openlineage_event(event=an_event(), by=Principal.objects.get(actor_id="service:trainer"))


def test_in_every_table_a_changed_column_or_key_is_reported(every_table):
    for tamper in (_change_a_column, _change_the_key):
        expected = [line for table in keys() for line in tamper(table)]
        found = replay.check().differences
        assert len(found) == len(expected), (expected, found)
        for line, difference in zip(expected, found, strict=True):
            assert difference.startswith(line), (line, found)
        replay.rebuild()
    assert replay.check().clean


@postgres_only
def test_a_row_repeated_once_its_key_is_no_longer_unique_is_reported(every_table):
    model = tables()["monitoring"]
    table = model._meta.db_table
    names = ", ".join(f.column for f in model._meta.concrete_fields if not f.primary_key)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    (unique,) = [name for name, c in constraints.items() if c["unique"] and c["columns"] == ["seq"]]
    raw("SET CONSTRAINTS ALL IMMEDIATE")  # no ALTER TABLE while foreign key checks are pending
    raw(f"ALTER TABLE {table} DROP CONSTRAINT {unique}")
    raw(f"INSERT INTO {table} ({names}) SELECT {names} FROM {table} ORDER BY seq LIMIT 1")
    seq = model._default_manager.order_by("seq").values_list("seq")[0][0]
    assert replay.check().differences == [f"monitoring {seq}: in the table 2 times"]


def _key(table: str, row: models.Model) -> str:
    return "/".join(str(getattr(row, column)) for column in keys()[table])


def _a_row(table: str) -> models.Model:
    row = tables()[table]._default_manager.order_by("pk").first()
    assert row is not None, f"the history has no {table} row: extend every_table"
    return row


def _change_a_column(table: str) -> list[str]:
    """Change a column that is neither the key nor a reference; the difference expected."""
    row = _a_row(table)
    field = next(
        f
        for f in row._meta.concrete_fields
        if f.attname in replay.columns(table)
        and f.attname not in keys()[table]
        and not f.is_relation
    )
    value = _other_than(field, getattr(row, field.attname))
    type(row)._default_manager.filter(pk=row.pk).update(**{field.attname: value})
    return [f"{table} {_key(table, row)}: {field.attname} is "]


def _change_the_key(table: str) -> list[str]:
    """Give a row another natural key: the ledger's row is missing, another is extra."""
    row = _a_row(table)
    before = _key(table, row)
    column = keys()[table][-1]
    field = next(f for f in row._meta.concrete_fields if f.attname == column)
    value = _other_than(field, getattr(row, column))
    type(row)._default_manager.filter(pk=row.pk).update(**{column: value})
    setattr(row, column, value)
    return [
        f"{table} {_key(table, row)}: in the table but not in the ledger",
        f"{table} {before}: in the ledger but missing from the table",
    ]


def _other_than(field: Any, value: Any) -> Any:
    """A value of the field's type that differs from `value` and fits the column."""
    if isinstance(field, models.BooleanField):
        return not value
    if isinstance(field, models.IntegerField):
        return (value or 0) + 10**9
    if isinstance(field, models.DateTimeField):
        return (value or timezone.now()) + timedelta(seconds=1)
    if isinstance(field, models.DateField):
        return (value or date(2026, 1, 1)) + timedelta(days=1)
    if isinstance(field, models.JSONField):
        return {"tampered": value}
    assert isinstance(value, str | None), (field, value)
    text = ((value or "") + "x")[-(field.max_length or 1000) :]
    return text if text != value else "y" * len(text)
