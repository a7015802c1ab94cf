"""The documented public name of our RFC 9162 Merkle functions, kept for users' scripts:
the code lives in `auditreg.proofs.merkle` (no Django)."""

from auditreg.proofs.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]
