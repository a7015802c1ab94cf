"""Scheduled and queued ledger jobs in Celery workers: sign checkpoints (celery beat), and
verify the whole chain, either for a run a reader started in the portal or on the schedule.

The verification tasks keep the names they were registered under when they lived in the
portal (`portal.tasks.…`): the beat schedule names them, and messages already queued under
those names are still delivered after an upgrade. They run with `acks_late` and
`reject_on_worker_lost`: a worker killed in the middle leaves the message to be delivered
again, and verifying again is harmless (a run with its result is left alone).
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from auditreg.errors import DomainError
from auditreg.ledger import services, verification
from auditreg.ledger.models import VerificationRun

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def checkpoint_ledger() -> int:
    """Sign a checkpoint of the current tree; idempotent, so a retry or a rerun is harmless."""
    stored, created = services.checkpoint(origin=settings.AUDITREG_LEDGER_ORIGIN)
    if created:
        logger.info("signed ledger checkpoint at tree size %d", stored.tree_size)
    return stored.tree_size


@shared_task(name="portal.tasks.verify_ledger_run", acks_late=True, reject_on_worker_lost=True)
def verify_ledger_run(run_id: int) -> str:
    run = verification.perform_verification(run_id)
    if run.status == VerificationRun.BROKEN:
        logger.critical("ledger NOT intact: %s", run.summary)
    return run.status


@shared_task(
    name="portal.tasks.verify_ledger_on_schedule", acks_late=True, reject_on_worker_lost=True
)
def verify_ledger_on_schedule() -> str:
    """The schedule's verification, recorded like the others; skipped while one is running."""
    try:
        run = verification.start_verification(by=VerificationRun.SCHEDULE)
    except DomainError as refusal:
        logger.info("scheduled ledger verification skipped: %s", refusal)
        return "skipped"
    return str(verify_ledger_run(run.pk))
