"""The ledger explorer's reads: entries newest first in keyset pages, the signed checkpoints,
and one entry with its hash and inclusion proof checked here, on the server. (Verification
runs and the export live in the ledger app: `auditreg.ledger.verification`, `.export`.)"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import BadRequest
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from auditreg.ledger import services as ledger
from auditreg.ledger.models import Checkpoint, Entry
from auditreg.proofs import merkle
from auditreg.proofs.checks import whole_number

PAGE_SIZE = 50
CHECKPOINTS_SHOWN = 20


@dataclass(frozen=True)
class Query:
    subject: str
    kind: str
    actor: str
    since: date | None
    until: date | None
    # Keyset cursor: show entries with a seq below this one (OFFSET would rescan the skipped rows).
    before: int | None

    @classmethod
    def from_params(cls, params: QueryDict) -> "Query":
        def get(name: str) -> str:
            return params.get(name, "").strip()[:200]

        return cls(
            subject=get("subject"),
            kind=get("kind"),
            actor=get("actor"),
            since=_date(get("from")),
            until=_date(get("to")),
            before=_cursor(get("before")),
        )


def _cursor(text: str) -> int | None:
    """The `before` cursor of an "Older entries" link: a seq, or a 400 (a link we made never
    holds anything else)."""
    if not text:
        return None
    seq = whole_number(text)
    if seq is None:
        raise BadRequest(f"'before' must be the seq of an entry, not {text[:20]!r}")
    return seq


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the current (the reader's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def search(query: Query) -> QuerySet[Entry]:
    entries = Entry.objects.order_by("-seq")
    for name in ("subject", "kind", "actor"):
        value = getattr(query, name)
        if value:
            entries = entries.filter(**{name: value})
    if query.since:
        entries = entries.filter(recorded_at__gte=_start_of(query.since))
    if query.until:  # the "to" date is included
        entries = entries.filter(recorded_at__lt=_start_of(query.until + timedelta(days=1)))
    return entries


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next_before: int | None  # the cursor of the next (older) page, if there is one


def page(query: Query) -> Page:
    """One page; a row more than shown tells whether an older page exists.

    Filtered, the page's seqs are found first, then their rows: PostgreSQL reads the seqs
    from the end of the (subject|kind|actor, seq) index alone. Asked for whole rows, it walks
    the primary key backwards whenever it guesses the matches are common, which for a kind
    that is common but old (behind a million newer entries) reads every newer entry."""
    entries = search(query)
    if query.before is not None:
        entries = entries.filter(seq__lt=query.before)
    if query.subject or query.kind or query.actor:
        seqs = list(entries.values_list("seq", flat=True)[: PAGE_SIZE + 1])
        entries = Entry.objects.filter(seq__in=seqs).order_by("-seq")
    rows = list(entries[: PAGE_SIZE + 1])
    shown = rows[:PAGE_SIZE]
    return Page(entries=shown, next_before=shown[-1].seq if len(rows) > PAGE_SIZE else None)


def checkpoints() -> list[Checkpoint]:
    return list(Checkpoint.objects.order_by("-tree_size")[:CHECKPOINTS_SHOWN])


@dataclass(frozen=True)
class Inclusion:
    checkpoint: Checkpoint
    proof: list[str]
    verified: bool


@dataclass(frozen=True)
class Examined:
    """One entry as an auditor checks it: its bytes, their hash and its proof."""

    entry: Entry
    canonical: str
    pretty: str
    recomputed_hash: str
    hash_matches: bool
    inclusion: Inclusion | None  # None: not yet covered by a signed checkpoint


def examine(entry: Entry) -> Examined:
    body = bytes(entry.body)
    leaf = merkle.leaf_hash(body)
    return Examined(
        entry=entry,
        canonical=body.decode(errors="replace"),
        pretty=_pretty(body),
        recomputed_hash=leaf.hex(),
        hash_matches=leaf == bytes(entry.hash),
        inclusion=_inclusion(entry.seq, leaf),
    )


def _pretty(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return "(the stored bytes are not JSON)"


def _inclusion(seq: int, leaf: bytes) -> Inclusion | None:
    """The proof against the latest signed root, checked with the hash of the bytes as they
    are now: a changed body fails the proof even if its stored hash was changed too."""
    checkpoint = ledger.latest_checkpoint()
    if checkpoint is None or seq >= checkpoint.tree_size:
        return None
    proof = ledger.inclusion_proof(seq, checkpoint.tree_size)
    root = bytes(checkpoint.root_hash)
    verified = merkle.verify_inclusion(leaf, seq, checkpoint.tree_size, proof, root)
    return Inclusion(checkpoint=checkpoint, proof=[node.hex() for node in proof], verified=verified)
