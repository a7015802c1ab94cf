"""What a third party needs to check our proofs, with no Django and no database: entry
bytes (`entry`), RFC 9162 Merkle trees (`merkle`, `subtrees`), C2SP signed notes (`note`),
the offline export verifier (`export`, standard library and `cryptography` only), report
evidence bundles (`evidence`) and signed-PDF verification (`pdf`, which needs pyHanko).

Nothing here may import Django, DRF, Celery or any of our apps (import-linter contract in
pyproject.toml); `auditreg.client` imports this package and nothing else of ours.
"""
