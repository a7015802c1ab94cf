"""Which subtrees of an RFC 9162 Merkle tree a proof is made of, and how to keep them.

A proof in RFC 9162 §2.1.3 and §2.1.4 is a list of MTH values of leaf ranges [start, end).
Each such range splits into a few complete, aligned subtrees (`aligned_subtrees`), and every
complete subtree is produced once, when its last leaf is appended (`Frontier.append`). So a
store that keeps, for each leaf, the subtrees that leaf completed can serve any proof from
O(log n) stored hashes, without rehashing the tree.

Storage layout this module is built for, for the entry row n (the leaf at index n):

* the leaf hash, which is the level-0 subtree (0, n);
* the concatenation of the hashes `Frontier.append` returned for that leaf: the subtrees of
  levels 1, 2, ..., `completed_levels(n)`, each 32 bytes, lowest level first.

The subtree (level L ≥ 1, index i), which covers leaves [i * 2**L, (i + 1) * 2**L), is then in
row `completing_leaf(L, i)` at byte offset (L - 1) * 32.

Range arithmetic here is pure. The hashing primitives live in `auditreg.proofs.merkle`; the
two modules import each other as modules and look names up only when called.
"""

from collections.abc import Sequence

from auditreg.proofs import merkle

_HASH_SIZE = 32


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH values, in order, are the inclusion proof of leaf `index`.

    This is PATH(index, D[0:size]) from RFC 9162 §2.1.3.1, with each hash replaced by the
    [start, end) range it is the MTH of. Walks from the root down and reverses at the end,
    because PATH lists the sibling nearest the leaf first.

    Raises ValueError unless 0 <= index < size.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges = []
    start, end = 0, size
    while end - start > 1:
        split = start + _largest_power_of_two_below(end - start)
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH values, in order, are the consistency proof from size1 to size2.

    This is PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true) from RFC 9162
    §2.1.4.1, with each hash replaced by its [start, end) range. SUBPROOF's flag b is still true
    exactly while the walk has only gone left, that is while start == 0: the old tree's root is
    then one the verifier already has, so it is not sent.

    Returns [] when size1 == size2. Raises ValueError unless 1 <= size1 <= size2.
    """
    if not 1 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    ranges = []
    start, end = 0, size2
    # Invariant: start < size1 <= end, so the old tree's edge lies inside [start, end).
    while end != size1:
        split = start + _largest_power_of_two_below(end - start)
        if size1 <= split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    if start != 0:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def aligned_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split [start, end) into complete, aligned subtrees, largest first, as (level, index).

    (level, index) covers leaves [index * 2**level, (index + 1) * 2**level). The pieces follow
    the binary digits of end - start, most significant first. When start is a multiple of the
    largest power of two <= end - start, every piece is aligned, and `fold_right` of the
    pieces' hashes equals MTH(D[start:end]) (RFC 9162 §2.1.1): MTH splits off the largest power
    of two smaller than the length, which is exactly the first piece unless the range is itself
    a single complete subtree. Every range in an RFC 9162 proof, and every [0, n), qualifies.

    Raises ValueError when start < 0, start >= end, or start is misaligned.
    """
    if not 0 <= start < end:
        raise ValueError(f"[{start}, {end}) is not a non-empty range of leaves")
    length = end - start
    top_level = length.bit_length() - 1
    if start % (1 << top_level):
        raise ValueError(f"[{start}, {end}) does not start on a multiple of {1 << top_level}")
    pieces = []
    position = start
    for level in range(top_level, -1, -1):
        if length >> level & 1:
            pieces.append((level, position >> level))
            position += 1 << level
    return pieces


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """node_hash(h0, node_hash(h1, ... node_hash(h[k-2], h[k-1]))); one hash is returned as is.

    Combines the hashes of `aligned_subtrees(start, end)` into MTH(D[start:end]), RFC 9162
    §2.1.1. Raises ValueError for an empty sequence: it has no MTH here (the empty tree's
    root is a special case of §2.1.1, see `auditreg.proofs.merkle.root_hash`).
    """
    if not hashes:
        raise ValueError("cannot fold an empty list of hashes")
    folded = hashes[-1]
    for left in reversed(hashes[:-1]):
        folded = merkle.node_hash(left, folded)
    return folded


def completing_leaf(level: int, index: int) -> int:
    """The index of the leaf whose append completes subtree (level, index): (index+1)*2**level-1.

    This is the row that stores that subtree's hash (see the module docstring). For level 0 it
    is the leaf itself. Raises ValueError for a negative level or index.
    """
    if level < 0 or index < 0:
        raise ValueError(f"({level}, {index}) is not a subtree")
    return ((index + 1) << level) - 1


def completed_levels(leaf_index: int) -> int:
    """How many subtrees of level >= 1 appending leaf `leaf_index` completes.

    Appending leaf n completes the subtree of level L ending at leaf n exactly when 2**L
    divides n + 1, so the count is the number of trailing zero bits of n + 1 (equivalently,
    trailing one bits of n). It is the length of `Frontier.append`'s result for that leaf.
    Raises ValueError for a negative index.
    """
    if leaf_index < 0:
        raise ValueError(f"leaf index {leaf_index} is negative")
    following = leaf_index + 1
    return (following & -following).bit_length() - 1


class Frontier:
    """The compact range of a growing tree: one complete subtree hash per set bit of its size.

    Lets a verifier stream through the leaves of a log in O(log n) memory and learn every
    complete subtree hash along the way. `append` returns, for each leaf, exactly the hashes
    the store keeps in that leaf's row (see the module docstring).
    """

    def __init__(self) -> None:
        self._size = 0
        # Roots of the complete subtrees covering [0, size), largest (leftmost) first:
        # the hashes of aligned_subtrees(0, size).
        self._peaks: list[bytes] = []

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    def append(self, leaf: bytes) -> list[bytes]:
        """Add one leaf hash; return the subtrees it completed, levels 1, 2, ... in order.

        The result has `completed_levels(index)` hashes, where index is the new leaf's index
        (the size before this call). Raises ValueError unless leaf is 32 bytes.
        """
        if not isinstance(leaf, bytes) or len(leaf) != _HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        size = self._size
        self._size = size + 1
        if not size & 1:  # half of all leaves complete nothing
            self._peaks.append(leaf)
            return []
        completed = []
        node = leaf
        # Each trailing one bit of the old size is a peak of equal height to merge with.
        while size & 1:
            node = merkle.node_hash(self._peaks.pop(), node)
            completed.append(node)
            size >>= 1
        self._peaks.append(node)
        return completed

    def root(self) -> bytes:
        """MTH of all leaves appended so far (RFC 9162 §2.1.1); SHA-256(b"") when empty."""
        if not self._peaks:
            return merkle.root_hash([])
        return fold_right(self._peaks)


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162 §2.1.1: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)
