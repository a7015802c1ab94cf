"""In-process checks of the portal benchmark's database, run by `bench.portal` in a child
process with DATABASE_URL set: SQL queries per page (Django's test client, as the tests
count them) and the ledger explorer's plans. Prints one JSON object."""

import json
import os
import sys
import time
from typing import Any


def main() -> None:
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()
    pages = json.loads(sys.argv[1])
    username = sys.argv[2]
    print(json.dumps({"queries": count_queries(pages, username), "plans": plans()}))


def count_queries(pages: dict[str, str], username: str) -> dict[str, int]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(User.objects.get(username=username))
    counts = {}
    for name, url in pages.items():
        client.get(url)  # warm: the first request loads templates and caches
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        if response.status_code != 200:
            sys.exit(f"{url} answered {response.status_code}")
        counts[name] = len(captured)
    return counts


def plans() -> dict[str, Any]:
    """The ledger explorer's newest-first page filtered by kind, and by actor: the plan's
    top node, whether an index was used, and the time of the query alone."""
    from django.db import connection
    from django.http import QueryDict

    from portal import ledger

    if connection.vendor != "postgresql":
        return {}
    found = {}
    for name, params in (
        ("kind", "kind=authorization.activated"),
        ("actor", f"actor=user:{os.environ.get('BENCH_PORTAL_ACTOR', 'val03')}"),
    ):
        # The explorer finds a filtered page's seqs first (`ledger.page`): that is the query.
        found_seqs = ledger.search(ledger.Query.from_params(QueryDict(params)))
        query = found_seqs.values_list("seq", flat=True)[: ledger.PAGE_SIZE + 1]
        sql, args = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", args)
            plan = cursor.fetchone()[0][0]
            started = time.perf_counter()
            cursor.execute(sql, args)
            cursor.fetchall()
            elapsed = (time.perf_counter() - started) * 1000
        found[name] = {
            "filter": params,
            "nodes": nodes(plan["Plan"]),
            "execution_ms": round(plan["Execution Time"], 2),
            "query_ms": round(elapsed, 2),
        }
    return found


def nodes(plan: dict[str, Any]) -> list[str]:
    """Each plan node as 'Node Type [index name]', top first."""
    label = plan["Node Type"] + (f" {plan['Index Name']}" if "Index Name" in plan else "")
    return [label] + [n for child in plan.get("Plans", []) for n in nodes(child)]


if __name__ == "__main__":
    main()
