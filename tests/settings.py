"""Test settings: the real settings with DEBUG on and the embedded mode's files in a folder
of the run's own.

DATABASE_URL picks the database as in production: unset → SQLite, postgres://… → PostgreSQL.
"""

import os
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("DEBUG", "1")
# Only named here: start-up (AuditregConfig.ready) creates it, the end of the run removes it
# (tests/conftest.py). Processes the tests start inherit the variable and share the folder.
_scratch = "AUDITREG_DATA_DIR" not in os.environ
if _scratch:
    _folder = Path(tempfile.gettempdir()) / f"auditreg-test-{uuid.uuid4().hex}"
    os.environ["AUDITREG_DATA_DIR"] = str(_folder)

from auditreg.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
AUDITREG_LEDGER_ORIGIN = "auditreg.test/ledger"
# The data folder this run made up, removed when it ends; None when AUDITREG_DATA_DIR was given.
AUDITREG_TEST_SCRATCH = DATA_DIR if _scratch else None  # noqa: F405
