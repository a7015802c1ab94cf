"""The bytes of a ledger entry: RFC 8785 canonical JSON of all its fields.

Pure code (no Django). Used by the write path; verifiers only hash and parse the bytes.
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

from auditreg.errors import DomainError

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
# Subjects and actor ids are URN-like: a lower-case type, a colon, printable ASCII.
URN_PATTERN = re.compile(r"[a-z][a-z0-9_-]*:[!-~]+")
MAX_SUBJECT = 200
MAX_ACTOR_ID = 200
MAX_PAYLOAD_BYTES = 1_000_000
# I-JSON (RFC 7493) integers: exactly representable in every JSON parser.
MAX_SAFE_INTEGER = 2**53 - 1


@dataclass(frozen=True)
class Actor:
    """Who caused an entry: a person (`user:alice`) or a machine (`service:trainer`)."""

    id: str
    name: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


def as_utc(value: datetime | str) -> datetime:
    """A time read back from the database as an aware UTC datetime.

    PostgreSQL returns aware datetimes; SQLite, through a plain cursor, naive UTC ones or text.
    """
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, fixed width, so strings compare as times do."""
    if moment.tzinfo is None:
        raise DomainError("recorded time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Draft:
    """An entry's validated fields, canonicalized before the chain is locked.

    Canonical JSON is compositional (RFC 8785 §3.2: members sorted by name, each value
    canonicalized on its own), so the slow part, canonicalizing the payload, happens here,
    outside the append lock; `seal` only splices in seq, time and prev.
    """

    head: bytes  # canonical `"actor":…,"kind":…,"payload":…`
    subject: bytes  # canonical JSON string

    def seal(self, *, seq: int, time: datetime, prev: str) -> bytes:
        """The entry's canonical bytes: {actor, kind, payload, prev, seq, subject, time}."""
        return b"".join(
            (
                b"{",
                self.head,
                b',"prev":',
                rfc8785.dumps(prev),
                b',"seq":',
                rfc8785.dumps(seq),
                b',"subject":',
                self.subject,
                b',"time":',
                rfc8785.dumps(format_time(time)),
                b"}",
            )
        )


def draft(*, kind: str, subject: str, actor: Actor, payload: dict[str, Any]) -> Draft:
    """Validate an entry's fields; raise DomainError naming what is wrong."""
    check_kind(kind)
    check_subject(subject)
    check_actor(actor)
    check_payload(payload)
    try:
        payload_bytes = rfc8785.dumps(payload)
    except rfc8785.CanonicalizationError as exc:
        raise DomainError(f"payload cannot be canonicalized: {exc}") from None
    if len(payload_bytes) > MAX_PAYLOAD_BYTES:
        raise DomainError(
            f"payload is {len(payload_bytes)} bytes of canonical JSON; at most "
            f"{MAX_PAYLOAD_BYTES} allowed"
        )
    head = b"".join(
        (
            b'"actor":',
            rfc8785.dumps(actor.as_json()),
            b',"kind":',
            rfc8785.dumps(kind),
            b',"payload":',
            payload_bytes,
        )
    )
    return Draft(head=head, subject=rfc8785.dumps(subject))


def entry_bytes(
    *,
    seq: int,
    time: datetime,
    kind: str,
    subject: str,
    actor: Actor,
    payload: dict[str, Any],
    prev: str,
) -> bytes:
    """The canonical bytes of one entry; its hash is merkle.leaf_hash of these bytes."""
    return draft(kind=kind, subject=subject, actor=actor, payload=payload).seal(
        seq=seq, time=time, prev=prev
    )


def check_kind(kind: str) -> None:
    if not isinstance(kind, str) or len(kind) > 64 or not KIND_PATTERN.fullmatch(kind):
        raise DomainError(
            f"ledger kind {kind!r} is not valid: use dotted lower-case words such as "
            "'version.registered' (at most 64 characters)"
        )


def check_subject(subject: str) -> None:
    if (
        not isinstance(subject, str)
        or len(subject) > MAX_SUBJECT
        or not URN_PATTERN.fullmatch(subject)
    ):
        raise DomainError(
            f"ledger subject {subject!r} is not valid: use a URN-like 'type:id' without spaces "
            f"such as 'model:credit-pd/3' (at most {MAX_SUBJECT} characters)"
        )


def check_actor(actor: Actor) -> None:
    if not isinstance(actor, Actor):
        raise DomainError("ledger actor must be an Actor")
    if len(actor.id) > MAX_ACTOR_ID or not URN_PATTERN.fullmatch(actor.id):
        raise DomainError(f"actor id {actor.id!r} is not valid: use 'user:NAME' or 'service:NAME'")
    if not isinstance(actor.name, str) or not actor.name.strip() or len(actor.name) > 200:
        raise DomainError("actor display name must be a non-empty string of at most 200 characters")
    _check_string(actor.name, "actor name")


def check_payload(payload: object) -> None:
    """Payloads are JSON objects of JSON-native values only (RFC 8785 / I-JSON domain)."""
    if not isinstance(payload, dict):
        raise DomainError(f"ledger payload must be a JSON object, not {type(payload).__name__}")
    _check_value(payload, "payload")


def _check_value(value: object, path: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise DomainError(
                f"{path}: integer {value} is outside the exact JSON range (+-(2^53 - 1)); "
                "send it as a decimal string"
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DomainError(f"{path}: {value} is not a JSON number")
        return
    if isinstance(value, str):
        _check_string(value, path)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DomainError(f"{path}: object keys must be strings, not {key!r}")
            _check_string(key, path)
            _check_value(item, f"{path}.{key}")
        return
    raise DomainError(
        f"{path}: {type(value).__name__} is not a JSON-native value "
        "(use objects, arrays, strings, numbers, true/false/null; decimals and times as strings)"
    )


def _check_string(value: str, path: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DomainError(f"{path}: string is not valid Unicode (lone surrogate)") from None
