"""Checks of untrusted values, shared by every app that takes facts in: each returns the
value in its recorded form or raises `DomainError` with a reason a person can act on. Pure:
no Django (the same rules a third party can apply to what it reads)."""

import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

import rfc8785

from auditreg.errors import DomainError

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]{1,4})?")
# Bounds of every figure (metric, monitoring value, threshold): Python's default decimal
# precision, and magnitudes a balance in any currency or a p-value needs, so comparing and
# charting them can never round two figures together or overflow.
FIGURE_DIGITS = 28
FIGURE_MAX_EXPONENT = 17
FIGURE_MIN_EXPONENT = -28
ACTOR_ID = re.compile(r"(user|service):[a-z][a-z0-9_.-]{0,62}")


def sha256_of(document: object) -> str:
    """`sha256:<hex>` of a JSON document's RFC 8785 canonical bytes."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(document)).hexdigest()  # type: ignore[arg-type]


def check_text(value: object, what: str, *, required: bool = True, limit: int = 2000) -> str:
    if not isinstance(value, str):
        raise DomainError(f"{what} must be text")
    if required and not value.strip():
        raise DomainError(f"{what} is required")
    if len(value) > limit:
        raise DomainError(f"{what} is longer than {limit} characters")
    return value.strip()


def check_decimal(value: object, what: str) -> str:
    """Figures are exact decimals written as strings ("0.8412"), never binary floats, and
    within what every reader can compare and draw: at most FIGURE_DIGITS significant digits
    and a magnitude from 10^FIGURE_MIN_EXPONENT to below 10^(FIGURE_MAX_EXPONENT + 1), or 0."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not DECIMAL.fullmatch(value):
        raise DomainError(f"{what} must be a decimal number written as a string, such as '0.25'")
    number = Decimal(value)
    if len(number.as_tuple().digits) > FIGURE_DIGITS:
        raise DomainError(f"{what} has more than {FIGURE_DIGITS} significant digits")
    # adjusted() is the exponent of the leading digit (of 0 itself for zero): no arithmetic.
    if not FIGURE_MIN_EXPONENT <= number.adjusted() <= FIGURE_MAX_EXPONENT:
        raise DomainError(
            f"{what} is out of range: figures lie between 1e{FIGURE_MIN_EXPONENT} and "
            f"1e{FIGURE_MAX_EXPONENT + 1} in magnitude (or are 0)"
        )
    return value


E = TypeVar("E", bound=StrEnum)


def check_choice(value: object, choices: type[E], what: str) -> E:
    try:
        return choices(value)  # type: ignore[arg-type]
    except ValueError:
        allowed = ", ".join(choice.value for choice in choices)
        raise DomainError(f"{what} {value!r} is not one of: {allowed}") from None


def check_object(value: object, what: str, *, required: bool = False) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise DomainError(f"{what} must be a JSON object")
    return value


def check_list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise DomainError(f"{what} must be a JSON array")
    return value


def check_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise DomainError(f"{what} must be true or false")
    return value


def check_digest(value: object, what: str) -> str:
    if not isinstance(value, str) or not DIGEST.fullmatch(value):
        raise DomainError(f"{what} must be 'sha256:' followed by 64 lower-case hex digits")
    return value


def check_actors(value: object, what: str) -> list[str]:
    actors = check_list(value, what)
    for actor in actors:
        if not isinstance(actor, str) or not ACTOR_ID.fullmatch(actor):
            raise DomainError(f"{what}: {actor!r} is not a principal such as 'user:dana'")
    return sorted(set(actors))


def check_string_map(value: object, what: str) -> dict[str, str]:
    mapping = check_object(value, what)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise DomainError(f"{what} must map names to version strings")
    return dict(mapping)


# Whole numbers read from a URL's query string, by the API and the portal alike.
# Seqs, tree sizes and version numbers: 18 digits is more than any of them reaches, and stays
# inside PostgreSQL's bigint, so a lookup never overflows.
MAX_DIGITS = 18


def whole_number(raw: str) -> int | None:
    """`raw` as a whole number, or None when it is not one.

    Only ASCII digits count: "²".isdigit() is True but int("²") raises, and int("٣") is 3.
    A sign, spaces or more than MAX_DIGITS digits make it no whole number either.
    """
    if raw.isascii() and raw.isdigit() and len(raw) <= MAX_DIGITS:
        return int(raw)
    return None
