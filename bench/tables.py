"""Loading a projection's rows into their tables, for the benches that build big registries
directly (`bench.provenance`, `bench.portal_data`)."""

from typing import Any


def copy_store(store: Any) -> None:
    """COPY every projected row into its table (dicts and lists as jsonb); column names are
    quoted, since the policy table has a column named `authorization`."""
    from django.db import connection
    from psycopg.types.json import Jsonb

    from auditreg.facts.projections import tables
    from auditreg.facts.replay import columns

    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        for table, rows in store.tables.items():
            if not rows:
                continue
            model = tables()[table]
            names = columns(table)
            column = {f.attname: f.column for f in model._meta.concrete_fields}
            quoted = ", ".join(f'"{column[n]}"' for n in names)
            with cursor.copy(f"COPY {model._meta.db_table} ({quoted}) FROM STDIN") as copy:
                for row in rows.values():
                    copy.write_row(
                        [
                            Jsonb(row[n]) if isinstance(row[n], dict | list) else row[n]
                            for n in names
                        ]
                    )
    raw.commit()
