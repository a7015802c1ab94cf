"""One of several processes appending to the same ledger at once (see test_concurrent_appends)."""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auditreg.settings")
django.setup()

from django.db import transaction  # noqa: E402

from auditreg.ledger import services  # noqa: E402
from auditreg.proofs.entry import Actor  # noqa: E402


def main(writer: int, count: int, start_at: float) -> None:
    actor = Actor(f"service:writer-{writer}", f"Writer {writer}")
    while time.time() < start_at:
        time.sleep(0.001)
    for n in range(count):
        with transaction.atomic(durable=True):
            services.append(
                kind="test.raced", subject=f"writer:{writer}", payload={"n": n}, actor=actor
            )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
