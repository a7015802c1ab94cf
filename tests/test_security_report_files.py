"""Issued reports on local disk are readable by the service's user and group only."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports import services
from tests.factories import approve, make_model, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common 022, under which files are created world-readable unless told otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_stored_report_is_not_world_readable(people, signing_dir, usual_umask):
    version = approve(people, make_version(people, make_model(people)))
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    report = services.produce(str(request.id))
    stored = Path(services.storage().path(report.file_name))
    assert stat.S_IMODE(stored.stat().st_mode) == 0o640
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o750
