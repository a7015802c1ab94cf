"""API tokens against the ledger. Tokens are a credential store (their secrets' digests are
never in the ledger), so replay does not rebuild them; but every column the ledger does
record is compared, so a token revoked, extended or widened in the database alone is found.
Run by `replay_ledger` in the same snapshot as the projections' check."""

import json
from datetime import datetime

from auditreg.accounts.models import ApiToken
from auditreg.facts.kernel import Fact, Row
from auditreg.ledger.models import Entry

TOKEN_KINDS = frozenset({"token.issued", "token.revoked"})
TOKEN_COLUMNS = ("principal_id", "name", "scopes", "created_at", "expires_at", "revoked_at")


def _token_fact(fact: Fact, tokens: dict[str, Row]) -> None:
    prefix = fact.payload["token"]
    if fact.kind == "token.issued":
        tokens[prefix] = {
            "principal_id": fact.subject,
            "name": fact.payload["name"],
            "scopes": fact.payload["scopes"],
            "created_at": fact.time,
            "expires_at": datetime.fromisoformat(fact.payload["expires_at"]),
            "revoked_at": None,
            "issued_seq": fact.seq,
        }
    elif prefix in tokens:
        tokens[prefix]["revoked_at"] = fact.time


def _compare_tokens(expected: dict[str, Row]) -> list[str]:
    differences = []
    live = {
        row["prefix"]: row
        for row in ApiToken.objects.values("prefix", "issued_seq", *TOKEN_COLUMNS)
    }
    for prefix in sorted(live.keys() - expected.keys()):
        differences.append(f"token {prefix}: in the table but not in the ledger")
    for prefix in sorted(expected.keys() - live.keys()):
        differences.append(f"token {prefix}: in the ledger but missing from the table")
    for prefix in sorted(live.keys() & expected.keys()):
        for name in (*TOKEN_COLUMNS, "issued_seq"):
            if live[prefix][name] != expected[prefix][name]:
                differences.append(
                    f"token {prefix}: {name} is {live[prefix][name]!r} in the table, "
                    f"{expected[prefix][name]!r} from the ledger"
                )
    return differences


def compare_tokens() -> list[str]:
    """Differences between the tokens' table and their `token.issued` / `token.revoked`
    entries (read through the kind index)."""
    recorded: dict[str, Row] = {}
    for (body,) in Entry.objects.filter(kind__in=TOKEN_KINDS).order_by("seq").values_list("body"):
        _token_fact(Fact.from_document(json.loads(bytes(body))), recorded)
    return _compare_tokens(recorded)
