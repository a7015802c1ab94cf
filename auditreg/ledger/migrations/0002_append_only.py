"""Make the ledger tables append-only in the database itself.

PostgreSQL: row triggers reject UPDATE and DELETE, a statement trigger rejects TRUNCATE,
and all are ENABLE ALWAYS so they still fire under session_replication_role = replica
(the switch that silences ordinary triggers during logical replication or a careless
restore). SQLite: triggers reject UPDATE and DELETE; settings turn on recursive_triggers
for every connection, so INSERT OR REPLACE fires the DELETE trigger too.

A database owner can still drop these triggers: that is what the hash chain, the Merkle
tree and the signed checkpoints are for. The triggers stop accidents and casual edits;
the cryptography makes deliberate ones visible.
"""

from django.db import migrations

TABLES = ["ledger_entry", "ledger_checkpoint"]

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION auditreg_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'auditreg: % on % is refused: the ledger is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def postgres_forward(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION auditreg_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION auditreg_append_only();
ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_update_delete;
ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate;
"""


def postgres_backward(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


def sqlite_forward(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}
BEGIN
    SELECT RAISE(ABORT, 'auditreg: {operation} on {table} is refused: the ledger is append-only');
END;"""
        for operation in ("UPDATE", "DELETE")
    ]


def sqlite_backward(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_no_{operation};" for operation in ("update", "delete")]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(postgres_forward(table), params=None)
    elif vendor == "sqlite":
        for table in TABLES:
            for statement in sqlite_forward(table):
                schema_editor.execute(statement)
    else:
        raise RuntimeError(f"auditreg supports PostgreSQL and SQLite, not {vendor}")


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(postgres_backward(table))
        schema_editor.execute("DROP FUNCTION IF EXISTS auditreg_append_only();")
    elif vendor == "sqlite":
        for table in TABLES:
            for statement in sqlite_backward(table):
                schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
