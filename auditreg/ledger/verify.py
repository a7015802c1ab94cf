"""`python -m auditreg.ledger.verify FILE [--key VKEY]`: the documented name of the offline
export verifier, kept for users' scripts. The code is `auditreg.proofs.export`, which needs
only the standard library and `cryptography`; so does this module."""

import sys

from auditreg.proofs.export import GENESIS_PREV, LedgerBroken, main, verify_export

__all__ = ["GENESIS_PREV", "LedgerBroken", "main", "verify_export"]

if __name__ == "__main__":
    sys.exit(main())
