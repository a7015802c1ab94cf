"""Runs of the whole-ledger verification: started by a reader in the portal, by the daily
schedule or by `manage.py verify_ledger`, performed by `integrity.verify_database`, and
recorded with their result for the dashboard and the ledger explorer."""

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import formats, timezone

from auditreg.errors import DomainError
from auditreg.ledger.integrity import Progress, verify_database
from auditreg.ledger.models import VerificationRun
from auditreg.proofs.export import LedgerBroken

# A run with no result after this long lost its worker (killed, redeployed): it is closed as
# an error so it does not block the next one forever. A million entries verify in minutes.
STALE_AFTER = timedelta(hours=6)
RUNS_SHOWN = 10


def start_verification(*, by: str, name: str = "") -> VerificationRun:
    """Record a run as started by `by` (an actor id, "schedule" or "command").

    Refused with a DomainError while another queued run is still running. Changes no
    ledger-backed fact, so any reader may call it.
    """
    now = timezone.now()
    VerificationRun.objects.filter(
        status=VerificationRun.RUNNING, started_at__lt=now - STALE_AFTER
    ).update(
        status=VerificationRun.ERROR,
        finished_at=now,
        reason=f"no result after {STALE_AFTER.total_seconds() / 3600:.0f} hours: the worker "
        "running it stopped. Start a new verification.",
    )
    try:
        with transaction.atomic():
            return VerificationRun.objects.create(
                started_by=by, started_by_name=name, started_at=now
            )
    except IntegrityError:
        running = (
            VerificationRun.objects.filter(status=VerificationRun.RUNNING)
            .exclude(started_by=VerificationRun.COMMAND)
            .first()
        )
        since = _when(running.started_at) if running else "a moment ago"
        who = running.starter if running else "someone"
        raise DomainError(
            f"A verification started {since} by {who} is still running. Only one runs at a "
            "time; its result will be listed here when it ends.",
            code="verification_running",
        ) from None


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "j M Y, H:i T")


def perform_verification(run_id: int, progress: Progress | None = None) -> VerificationRun:
    """Verify the whole ledger and record the result on run `run_id`.

    Safe to run again (a redelivered task): a run that already has its result is left as it
    is. An unexpected failure is recorded as an error and raised for the worker's log.
    """
    run = VerificationRun.objects.get(pk=run_id)
    if run.status != VerificationRun.RUNNING:
        return run
    outcome: dict[str, Any]
    try:
        verdict = verify_database(progress)
    except LedgerBroken as exc:
        outcome = {
            "status": VerificationRun.BROKEN,
            "entries_verified": exc.seq,
            "first_bad_seq": exc.seq,
            "reason": exc.reason,
            "summary": str(exc),
        }
    except DomainError as exc:
        outcome = {"status": VerificationRun.ERROR, "reason": str(exc), "summary": str(exc)}
    except Exception as exc:
        _finish(run, status=VerificationRun.ERROR, reason=f"{type(exc).__name__}: {exc}")
        raise
    else:
        outcome = {
            "status": VerificationRun.INTACT,
            "entries_verified": verdict.entries,
            "checkpoints_checked": len(verdict.checkpoints),
            "summary": verdict.summary(),
        }
    return _finish(run, **outcome)


def _finish(run: VerificationRun, **outcome: Any) -> VerificationRun:
    # By primary key whatever its status: a real result replaces a "stale" verdict.
    VerificationRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), **outcome)
    run.refresh_from_db()
    return run


def recent_runs() -> list[VerificationRun]:
    return list(VerificationRun.objects.order_by("-started_at", "-pk")[:RUNS_SHOWN])


def last_finished_run() -> VerificationRun | None:
    return (
        VerificationRun.objects.exclude(status=VerificationRun.RUNNING)
        .order_by("-finished_at", "-pk")
        .first()
    )
