"""Ledger verification runs in Celery workers: one started from the portal, and the schedule's.

`acks_late` with `reject_on_worker_lost`: a worker killed in the middle leaves the message to
be delivered again, and verifying again is harmless (a run with its result is left alone).
"""

import logging

from celery import shared_task

from auditreg.errors import DomainError
from portal import ledger
from portal.models import VerificationRun

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def verify_ledger_run(run_id: int) -> str:
    run = ledger.perform_verification(run_id)
    if run.status == VerificationRun.BROKEN:
        logger.critical("ledger NOT intact: %s", run.summary)
    return run.status


@shared_task(acks_late=True, reject_on_worker_lost=True)
def verify_ledger_on_schedule() -> str:
    """The schedule's verification, recorded like the others; skipped while one is running."""
    try:
        run = ledger.start_verification(by=VerificationRun.SCHEDULE)
    except DomainError as refusal:
        logger.info("scheduled ledger verification skipped: %s", refusal)
        return "skipped"
    return str(verify_ledger_run(run.pk))
