"""One of several processes appending to the same ledger at once (see test_concurrent_appends)."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auditreg.settings")
django.setup()

from django.db import transaction  # noqa: E402

from auditreg.ledger import services  # noqa: E402
from auditreg.proofs.entry import Actor  # noqa: E402
from tests.racing import contending  # noqa: E402


def main(writer: int, count: int) -> None:
    actor = Actor(f"service:writer-{writer}", f"Writer {writer}")
    with contending():
        for n in range(count):
            with transaction.atomic(durable=True):
                services.append(
                    kind="test.raced", subject=f"writer:{writer}", payload={"n": n}, actor=actor
                )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
