"""Whole numbers read from a URL's query string, by the API and the portal alike."""

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
