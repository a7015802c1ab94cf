"""The auditreg client: report a training job's facts and verify the ledger, without Django.

Needs only the standard library, `cryptography` and `rfc8785` (the base install). See
`Client`, and `auditreg push` / `auditreg verify` in `auditreg.client.cli`.
"""

from auditreg.client.client import Client
from auditreg.client.digests import directory_digest, file_digest
from auditreg.client.http import Answer, ApiError

__all__ = ["Answer", "ApiError", "Client", "directory_digest", "file_digest"]
