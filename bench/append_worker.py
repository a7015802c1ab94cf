"""One writer process of the append benchmark: `python -m bench.append_worker MODE ID COUNT START`.

START is a wall-clock time to start at, or `-`: say `ready` on stdout, then start on a line
from stdin (a barrier that holds however long the writers take to import Django).

MODE is `ledger` (services.append), or a plain ORM insert of a row of the same size into a
baseline table: `mirror` (`bench.mirror`, a copy of the ledger's table) or `plain`
(`bench.plain`, `bench.ledger`'s). Each row is its own transaction, as a service call would
be. Prints the wall-clock times of its first start and its end.
"""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auditreg.settings")
django.setup()

from django.db import models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from auditreg.ledger import services  # noqa: E402
from auditreg.proofs import merkle  # noqa: E402
from auditreg.proofs.entry import Actor, draft  # noqa: E402
from bench.mirror import MirrorRow  # noqa: E402
from bench.plain import PlainRow  # noqa: E402

BASELINES: dict[str, type[models.Model]] = {"mirror": MirrorRow, "plain": PlainRow}


def payload(writer: int, n: int) -> dict[str, object]:
    return {
        "run": f"run:credit-pd/{writer}-{n}",
        "metrics": {"auc": "0.8412", "ks": "0.5210"},
        "parameters": {"num_leaves": 63, "learning_rate": "0.05", "n_estimators": 900},
        "artifact": "sha256:" + "ab" * 32,
    }


def main(mode: str, writer: int, count: int, start: str) -> None:
    actor = Actor(f"service:bench-{writer}", f"Benchmark writer {writer}")
    subject = f"model:bench/{writer}"
    if start == "-":
        print("ready", flush=True)
        sys.stdin.readline()
    else:
        while time.time() < float(start):
            time.sleep(0.0005)
    started = time.time()
    for n in range(count):
        if mode == "ledger":
            with transaction.atomic(durable=True):
                services.append(
                    kind="bench.recorded", subject=subject, payload=payload(writer, n), actor=actor
                )
            continue
        now = timezone.now()
        body = draft(
            kind="bench.recorded", subject=subject, actor=actor, payload=payload(writer, n)
        ).seal(seq=writer * 10**9 + n, time=now, prev="00" * 32)
        with transaction.atomic(durable=True):
            BASELINES[mode]._default_manager.create(
                recorded_at=now,
                kind="bench.recorded",
                subject=subject,
                actor=actor.id,
                hash=merkle.leaf_hash(body),
                subtrees=b"\x00" * 32 if n % 2 else b"",
                body=body,
            )
    print(started, time.time())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
