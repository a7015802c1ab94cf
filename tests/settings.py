"""Test settings: the real settings with DEBUG on and the embedded mode's files in a folder
of the process's own.

DATABASE_URL picks the database as in production: unset → SQLite, postgres://… → PostgreSQL.
"""

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("DEBUG", "1")
if "AUDITREG_DATA_DIR" not in os.environ:
    # Only named here: start-up (AuditregConfig.ready) creates it, and it goes when this
    # process exits normally (mypy's Django plugin exits hard and leaves its copy, empty).
    # Processes the tests start inherit the variable and share the folder.
    _folder = Path(tempfile.gettempdir()) / f"auditreg-test-{uuid.uuid4().hex}"
    os.environ["AUDITREG_DATA_DIR"] = str(_folder)
    atexit.register(shutil.rmtree, _folder, ignore_errors=True)

from auditreg.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
AUDITREG_LEDGER_ORIGIN = "auditreg.test/ledger"
