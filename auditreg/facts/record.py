"""The one write path: a fact is appended to the ledger and applied to every projection in
the same transaction, from the entry's own bytes, exactly as replay will apply it."""

from typing import Any, Protocol

from auditreg.errors import DomainError
from auditreg.facts.kernel import Fact
from auditreg.facts.kinds import Kind
from auditreg.facts.projections import DbStore, project_all
from auditreg.ledger import services as ledger
from auditreg.ledger.models import Entry
from auditreg.proofs.entry import Actor

KINDS = frozenset(Kind)


class Acting(Protocol):
    """Who records a fact: a principal, or the command line."""

    @property
    def actor_id(self) -> str: ...

    @property
    def printed_name(self) -> str: ...


def write_fact(*, kind: str, subject: str, payload: dict[str, Any], by: Acting) -> Entry:
    """Append one fact and apply it. Call inside the service's transaction; a kind outside
    `Kind` is refused before anything is written."""
    if kind not in KINDS:
        raise DomainError(f"{kind!r} is not a kind of fact auditreg records (facts.kinds.Kind)")
    entry = ledger.append(
        kind=kind, subject=subject, payload=payload, actor=Actor(by.actor_id, by.printed_name)
    )
    anomalies = project_all(Fact.from_document(entry.document), DbStore())
    if anomalies:  # the services check every rule first: this is a programming error
        raise RuntimeError("; ".join(anomalies))
    return entry
