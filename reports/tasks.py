"""Producing reports in Celery workers.

`acks_late` with `reject_on_worker_lost`: a worker killed in the middle leaves the message
to be delivered again, and `services.produce` is safe to run again. Transient errors
(database, file system or object storage unavailable) are retried with backoff; a report
the facts cannot make fails at once with the reason. A render that runs out of time is
stopped and recorded as failed, and a request whose worker keeps dying is given up after
AUDITREG_REPORT_MAX_ATTEMPTS attempts (see `services._claim`): never a poison message.
"""

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from auditreg.errors import DomainError
from reports import services

logger = logging.getLogger(__name__)

TRANSIENT: tuple[type[Exception], ...] = (OperationalError, InterfaceError, OSError)
try:  # S3-compatible report storage (the `s3` extra): botocore's network errors
    from botocore import exceptions as botocore  # type: ignore[import-untyped]

    TRANSIENT += (botocore.ConnectionError, botocore.HTTPClientError)
except ImportError:  # pragma: no cover - local file storage only
    pass


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    soft_time_limit=settings.AUDITREG_REPORT_TIME_LIMIT,
    time_limit=settings.AUDITREG_REPORT_TIME_LIMIT + 30,
)
def issue_report(self: "Task[Any, Any]", request_id: str) -> str:
    try:
        return services.produce(request_id).status
    except DomainError:
        return "failed"  # recorded with its reason; retrying cannot help
    except TRANSIENT as exc:
        if self.request.retries >= (self.max_retries or 0):
            services.mark_failed(
                request_id, f"gave up after {self.request.retries + 1} tries: {exc}"
            )
            raise
        logger.warning("report %s: %s; retrying", request_id, exc)
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    except Exception as exc:
        services.mark_failed(request_id, f"{type(exc).__name__}: {exc}")
        raise
