"""The Merkle tree of RFC 9162 §2.1 (Certificate Transparency 2.0), with SHA-256.

Hashes are 32-byte `bytes`. Proofs are generated from an in-memory list of leaf hashes; the
database-backed store builds the same proofs from stored subtrees with
`auditreg.proofs.subtrees`. The verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step
and return False, never raise, for any malformed input: they are the code that checks what
an untrusted server sent.
"""

import hashlib
from collections.abc import Sequence

from auditreg.proofs import subtrees

_HASH_SIZE = 32
# RFC 9162 §2.1.1 domain separation: a leaf hash can never be taken for a node hash.
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d), RFC 9162 §2.1.1."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), the interior node hash of RFC 9162 §2.1.1."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves, RFC 9162 §2.1.1; SHA-256(b"") for no leaves.

    Hashes level by level, carrying an odd last node up unchanged: that builds the same tree as
    the RFC's "split at the largest power of two" recursion, without recursion.
    """
    if not leaf_hashes:
        return hashlib.sha256(b"").digest()
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, over leaf_hashes[:size].

    Raises ValueError unless 0 <= index < size <= len(leaf_hashes).
    """
    _check_tree_size(leaf_hashes, size)
    return _range_roots(leaf_hashes, subtrees.inclusion_ranges(index, size))


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows leaf `index` of the tree of `size` leaves with `root` is leaf_hash.

    RFC 9162 §2.1.3.2, step by step. On top of the RFC's own checks, the proof must have
    exactly the length PATH has for (index, size).
    """
    path = _hash_list(proof)
    if path is None or not _are_hashes(leaf_hash, root) or not _are_counts(index, size):
        return False
    # Step 1.
    if not 0 <= index < size:
        return False
    if len(path) != len(subtrees.inclusion_ranges(index, size)):
        return False
    # Steps 2 and 3.
    fn, sn = index, size - 1
    r = leaf_hash
    # Step 4.
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    # Step 5.
    return sn == 0 and r == root


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int, size2: int) -> list[bytes]:
    """PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1, over leaf_hashes[:size2].

    [] when size1 == size2. Raises ValueError unless 1 <= size1 <= size2 <= len(leaf_hashes).
    """
    _check_tree_size(leaf_hashes, size2)
    return _range_roots(leaf_hashes, subtrees.consistency_ranges(size1, size2))


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree (size1, root1) is a prefix of the tree (size2, root2).

    RFC 9162 §2.1.4.2, step by step, which requires 0 < size1 < size2. Equal sizes are
    consistent only with an empty proof and equal roots. On top of the RFC's own checks, the
    proof must have exactly the length PROOF has for (size1, size2).
    """
    path = _hash_list(proof)
    if path is None or not _are_hashes(root1, root2) or not _are_counts(size1, size2):
        return False
    if not 0 < size1 <= size2:
        return False
    if size1 == size2:
        return not path and root1 == root2
    if len(path) != len(subtrees.consistency_ranges(size1, size2)):
        return False
    # Step 1.
    if not path:
        return False
    # Step 2: the proof leaves out the old root when it is a complete subtree of the new tree.
    if size1 & (size1 - 1) == 0:
        path = [root1, *path]
    # Steps 3 and 4.
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    # Step 7.
    return fr == root1 and sr == root2 and sn == 0


def _check_tree_size(leaf_hashes: Sequence[bytes], size: int) -> None:
    if size > len(leaf_hashes):
        raise ValueError(f"tree size {size} is larger than the {len(leaf_hashes)} leaves given")


def _range_roots(leaf_hashes: Sequence[bytes], ranges: list[tuple[int, int]]) -> list[bytes]:
    # The ranges of one proof are disjoint, so no node is hashed twice.
    return [root_hash(leaf_hashes[start:end]) for start, end in ranges]


def _hash_list(proof: object) -> list[bytes] | None:
    """The proof as a list, or None unless it is a sequence of 32-byte hashes."""
    if not isinstance(proof, Sequence) or isinstance(proof, str | bytes | bytearray):
        return None
    path = list(proof)
    return path if _are_hashes(*path) else None


def _are_hashes(*values: object) -> bool:
    return all(isinstance(value, bytes) and len(value) == _HASH_SIZE for value in values)


def _are_counts(*values: object) -> bool:
    # bool is an int subclass, but True is not a tree size.
    return all(isinstance(value, int) and not isinstance(value, bool) for value in values)
