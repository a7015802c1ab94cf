"""Test settings: the real settings with DEBUG on and keys in a throw-away folder.

DATABASE_URL picks the database as in production: unset → SQLite, postgres://… → PostgreSQL.
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("AUDITREG_DATA_DIR", tempfile.mkdtemp(prefix="auditreg-test-"))

from auditreg.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
AUDITREG_LEDGER_ORIGIN = "auditreg.test/ledger"
