"""Scheduled ledger jobs (celery beat): sign checkpoints. The chain is verified on the
schedule by `portal.tasks.verify_ledger_on_schedule`, which records each run."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from auditreg.ledger import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def checkpoint_ledger() -> int:
    """Sign a checkpoint of the current tree; idempotent, so a retry or a rerun is harmless."""
    stored, created = services.checkpoint(origin=settings.AUDITREG_LEDGER_ORIGIN)
    if created:
        logger.info("signed ledger checkpoint at tree size %d", stored.tree_size)
    return stored.tree_size
