"""Properties of the RFC 9162 Merkle tree: exhaustive for small trees, hypothesis beyond.

The reference functions below transcribe the recursive definitions of RFC 9162 §2.1.1
(MTH), §2.1.3.1 (PATH) and §2.1.4.1 (PROOF / SUBPROOF) literally, to check the iterative,
range-based implementation against.
"""

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditreg.proofs.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from auditreg.proofs.subtrees import (
    Frontier,
    aligned_subtrees,
    completed_levels,
    completing_leaf,
    consistency_ranges,
    fold_right,
    inclusion_ranges,
)

MAX_LEAVES = 300
EXHAUSTIVE_UP_TO = 64
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_LEAVES)]
ROOTS = [root_hash(LEAVES[:size]) for size in range(MAX_LEAVES + 1)]
EMPTY_ROOT = hashlib.sha256(b"").digest()
SOME_HASH = hashlib.sha256(b"a hash that is in no tree").digest()

FEW = settings(max_examples=150, deadline=None)

# --- Reference definitions (RFC 9162 §2.1) ------------------------------------------------------


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return d[0]
    k = largest_power_of_two_below(len(d))
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = largest_power_of_two_below(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = largest_power_of_two_below(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def all_inclusion_cases(up_to: int) -> list[tuple[int, int]]:
    return [(index, size) for size in range(1, up_to + 1) for index in range(size)]


def all_consistency_cases(up_to: int) -> list[tuple[int, int]]:
    return [(s1, s2) for s2 in range(1, up_to + 1) for s1 in range(1, s2 + 1)]


def proof_ranges_up_to(up_to: int) -> set[tuple[int, int]]:
    ranges = {(0, size) for size in range(1, up_to + 1)}
    for index, size in all_inclusion_cases(up_to):
        ranges.update(inclusion_ranges(index, size))
    for size1, size2 in all_consistency_cases(up_to):
        ranges.update(consistency_ranges(size1, size2))
    return ranges


def subtree_hash(level: int, index: int) -> bytes:
    return root_hash(LEAVES[index << level : (index + 1) << level])


# --- Exhaustive: every proof in every tree up to 64 leaves ----------------------------------------


def test_root_hash_matches_the_rfc_definition_for_every_size_up_to_300() -> None:
    assert [ref_mth(LEAVES[:size]) for size in range(MAX_LEAVES + 1)] == ROOTS


def test_every_inclusion_proof_up_to_64_leaves_is_the_rfc_path_and_verifies() -> None:
    for index, size in all_inclusion_cases(EXHAUSTIVE_UP_TO):
        proof = inclusion_proof(LEAVES, index, size)
        assert proof == ref_path(index, LEAVES[:size]), (index, size)
        assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size]), (index, size)


def test_every_consistency_proof_up_to_64_leaves_is_the_rfc_proof_and_verifies() -> None:
    for size1, size2 in all_consistency_cases(EXHAUSTIVE_UP_TO):
        proof = consistency_proof(LEAVES, size1, size2)
        assert proof == ref_subproof(size1, LEAVES[:size2], True), (size1, size2)
        assert verify_consistency(size1, size2, ROOTS[size1], ROOTS[size2], proof), (size1, size2)


def test_inclusion_ranges_are_the_ranges_the_inclusion_proof_hashes() -> None:
    for index, size in all_inclusion_cases(EXHAUSTIVE_UP_TO):
        ranges = inclusion_ranges(index, size)
        assert [root_hash(LEAVES[s:e]) for s, e in ranges] == inclusion_proof(LEAVES, index, size)
        # The siblings on the path cover every other leaf of the tree exactly once.
        covered = sorted(leaf for s, e in ranges for leaf in range(s, e))
        assert covered == [leaf for leaf in range(size) if leaf != index]


def test_consistency_ranges_are_the_ranges_the_consistency_proof_hashes() -> None:
    for size1, size2 in all_consistency_cases(EXHAUSTIVE_UP_TO):
        ranges = consistency_ranges(size1, size2)
        hashes = [root_hash(LEAVES[s:e]) for s, e in ranges]
        assert hashes == consistency_proof(LEAVES, size1, size2)
        assert all(0 <= s < e <= size2 for s, e in ranges)


def test_every_proof_up_to_32_leaves_fails_with_any_element_removed_or_inserted() -> None:
    for index, size in all_inclusion_cases(32):
        proof, leaf, root = inclusion_proof(LEAVES, index, size), LEAVES[index], ROOTS[size]
        for bad in one_element_removed_or_inserted(proof, [leaf, root, SOME_HASH]):
            assert not verify_inclusion(leaf, index, size, bad, root), (index, size, bad)
    for size1, size2 in all_consistency_cases(32):
        proof, root1, root2 = consistency_proof(LEAVES, size1, size2), ROOTS[size1], ROOTS[size2]
        for bad in one_element_removed_or_inserted(proof, [root1, root2, SOME_HASH]):
            assert not verify_consistency(size1, size2, root1, root2, bad), (size1, size2, bad)


def one_element_removed_or_inserted(proof: list[bytes], extras: list[bytes]) -> list[list[bytes]]:
    removed = [proof[:i] + proof[i + 1 :] for i in range(len(proof))]
    candidates = [*proof, *extras]
    inserted = [
        [*proof[:i], extra, *proof[i:]] for i in range(len(proof) + 1) for extra in candidates
    ]
    return removed + inserted


# --- Hypothesis: any tampering is rejected, without an exception ---------------------------------


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_LEAVES))
    return draw(st.integers(0, size - 1)), size


@st.composite
def consistency_cases(draw: st.DrawFn) -> tuple[int, int]:
    """0 < size1 < size2, so that the proof is not empty."""
    size2 = draw(st.integers(2, MAX_LEAVES))
    return draw(st.integers(1, size2 - 1)), size2


def flip_bit(proof: list[bytes], element: int, bit: int) -> list[bytes]:
    tampered = list(proof)
    value = bytearray(tampered[element])
    value[bit // 8] ^= 1 << (bit % 8)
    tampered[element] = bytes(value)
    return tampered


not_a_count = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.decimals(allow_nan=False, allow_infinity=False, places=0),
    st.lists(st.integers(), max_size=2),
)
not_a_hash = st.one_of(
    st.binary(max_size=64).filter(lambda b: len(b) != 32),
    st.binary(min_size=32, max_size=32).map(bytearray),
    st.binary(min_size=32, max_size=32).map(lambda b: memoryview(b)),
    st.binary(min_size=32, max_size=32).map(lambda b: b.hex()),
    st.none(),
    st.integers(),
    st.lists(st.integers(0, 255), min_size=32, max_size=32),
)
not_a_proof = st.one_of(
    st.none(),
    st.integers(),
    st.binary(min_size=32, max_size=96),
    st.text(max_size=64),
    st.just(object()),
    st.just(iter([SOME_HASH])),
    st.sets(st.binary(min_size=32, max_size=32), min_size=1, max_size=3),
    st.dictionaries(st.integers(), st.binary(min_size=32, max_size=32), max_size=2),
)


@FEW
@given(inclusion_cases(), st.data())
def test_inclusion_proof_with_any_bit_of_any_element_flipped_is_rejected(
    case: tuple[int, int], data: st.DataObject
) -> None:
    index, size = case
    proof = inclusion_proof(LEAVES, index, size)
    if not proof:
        return
    element = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    tampered = flip_bit(proof, element, bit)
    assert not verify_inclusion(LEAVES[index], index, size, tampered, ROOTS[size])


@FEW
@given(consistency_cases(), st.data())
def test_consistency_proof_with_any_bit_of_any_element_flipped_is_rejected(
    case: tuple[int, int], data: st.DataObject
) -> None:
    size1, size2 = case
    proof = consistency_proof(LEAVES, size1, size2)
    element = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    tampered = flip_bit(proof, element, bit)
    assert not verify_consistency(size1, size2, ROOTS[size1], ROOTS[size2], tampered)


@FEW
@given(inclusion_cases(), st.data())
def test_truncated_or_extended_inclusion_proof_is_rejected(
    case: tuple[int, int], data: st.DataObject
) -> None:
    index, size = case
    proof = inclusion_proof(LEAVES, index, size)
    keep = data.draw(st.integers(0, max(len(proof) - 1, 0)))
    extra = data.draw(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=3))
    at = data.draw(st.integers(0, len(proof)))
    leaf, root = LEAVES[index], ROOTS[size]
    if proof:
        assert not verify_inclusion(leaf, index, size, proof[:keep], root)
    assert not verify_inclusion(leaf, index, size, [*proof[:at], *extra, *proof[at:]], root)


@FEW
@given(consistency_cases(), st.data())
def test_truncated_or_extended_consistency_proof_is_rejected(
    case: tuple[int, int], data: st.DataObject
) -> None:
    size1, size2 = case
    proof = consistency_proof(LEAVES, size1, size2)
    keep = data.draw(st.integers(0, len(proof) - 1))
    extra = data.draw(
        st.lists(
            st.one_of(st.binary(min_size=32, max_size=32), st.sampled_from([*proof, *ROOTS])),
            min_size=1,
            max_size=3,
        )
    )
    at = data.draw(st.integers(0, len(proof)))
    root1, root2 = ROOTS[size1], ROOTS[size2]
    assert not verify_consistency(size1, size2, root1, root2, proof[:keep])
    assert not verify_consistency(size1, size2, root1, root2, [*proof[:at], *extra, *proof[at:]])


@FEW
@given(inclusion_cases(), st.integers(-3, MAX_LEAVES + 3), st.integers(-3, MAX_LEAVES + 3))
def test_inclusion_proof_presented_for_another_index_size_or_root_is_rejected(
    case: tuple[int, int], other_index: int, other_size: int
) -> None:
    index, size = case
    proof, leaf = inclusion_proof(LEAVES, index, size), LEAVES[index]
    if other_index != index:
        assert not verify_inclusion(leaf, other_index, size, proof, ROOTS[size])
        if 0 <= other_index < size:
            assert not verify_inclusion(LEAVES[other_index], other_index, size, proof, ROOTS[size])
    if other_size != size:
        other_root = ROOTS[other_size] if 0 <= other_size <= MAX_LEAVES else SOME_HASH
        assert not verify_inclusion(leaf, index, other_size, proof, other_root)
        assert not verify_inclusion(leaf, index, size, proof, other_root)


@FEW
@given(consistency_cases(), st.integers(-3, MAX_LEAVES + 3), st.integers(-3, MAX_LEAVES + 3))
def test_consistency_proof_presented_for_other_sizes_or_roots_is_rejected(
    case: tuple[int, int], other_size1: int, other_size2: int
) -> None:
    size1, size2 = case
    proof = consistency_proof(LEAVES, size1, size2)
    if (other_size1, other_size2) != (size1, size2):
        # Each size with its own true root. (Not the case's roots under another size: RFC 9162
        # proofs do not commit to the sizes themselves, only to the roots, so e.g. the proof
        # for (1, 257) checks out for (1, 301) against the root of 257. That is why a root is
        # trusted only together with its signed size.)
        root1 = ROOTS[other_size1] if 0 <= other_size1 <= MAX_LEAVES else SOME_HASH
        root2 = ROOTS[other_size2] if 0 <= other_size2 <= MAX_LEAVES else SOME_HASH
        assert not verify_consistency(other_size1, other_size2, root1, root2, proof)
    if other_size1 != size1 and 0 <= other_size1 <= MAX_LEAVES:
        assert not verify_consistency(size1, size2, ROOTS[other_size1], ROOTS[size2], proof)
    if other_size2 != size2 and 0 <= other_size2 <= MAX_LEAVES:
        assert not verify_consistency(size1, size2, ROOTS[size1], ROOTS[other_size2], proof)


@FEW
@given(inclusion_cases(), st.data(), not_a_hash)
def test_inclusion_proof_with_a_malformed_element_is_rejected(
    case: tuple[int, int], data: st.DataObject, bad: object
) -> None:
    index, size = case
    proof: list[object] = list(inclusion_proof(LEAVES, index, size))
    at = data.draw(st.integers(0, len(proof)))
    replace = data.draw(st.booleans()) and at < len(proof)
    proof[at : at + int(replace)] = [bad]
    assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size]) is False  # type: ignore[arg-type]


@FEW
@given(consistency_cases(), st.data(), not_a_hash)
def test_consistency_proof_with_a_malformed_element_is_rejected(
    case: tuple[int, int], data: st.DataObject, bad: object
) -> None:
    size1, size2 = case
    proof: list[object] = list(consistency_proof(LEAVES, size1, size2))
    at = data.draw(st.integers(0, len(proof)))
    replace = data.draw(st.booleans()) and at < len(proof)
    proof[at : at + int(replace)] = [bad]
    root1, root2 = ROOTS[size1], ROOTS[size2]
    assert verify_consistency(size1, size2, root1, root2, proof) is False  # type: ignore[arg-type]


@FEW
@given(inclusion_cases(), not_a_hash, not_a_proof, not_a_count)
def test_inclusion_verifier_rejects_malformed_arguments_without_raising(
    case: tuple[int, int], bad_hash: object, bad_proof: object, bad_count: object
) -> None:
    index, size = case
    proof, leaf, root = inclusion_proof(LEAVES, index, size), LEAVES[index], ROOTS[size]
    calls: list[Callable[[], bool]] = [
        lambda: verify_inclusion(bad_hash, index, size, proof, root),  # type: ignore[arg-type]
        lambda: verify_inclusion(leaf, index, size, proof, bad_hash),  # type: ignore[arg-type]
        lambda: verify_inclusion(leaf, index, size, bad_proof, root),  # type: ignore[arg-type]
        lambda: verify_inclusion(leaf, bad_count, size, proof, root),  # type: ignore[arg-type]
        lambda: verify_inclusion(leaf, index, bad_count, proof, root),  # type: ignore[arg-type]
    ]
    assert [call() for call in calls] == [False] * len(calls)


@FEW
@given(consistency_cases(), not_a_hash, not_a_proof, not_a_count)
def test_consistency_verifier_rejects_malformed_arguments_without_raising(
    case: tuple[int, int], bad_hash: object, bad_proof: object, bad_count: object
) -> None:
    size1, size2 = case
    proof, root1, root2 = consistency_proof(LEAVES, size1, size2), ROOTS[size1], ROOTS[size2]
    calls: list[Callable[[], bool]] = [
        lambda: verify_consistency(size1, size2, bad_hash, root2, proof),  # type: ignore[arg-type]
        lambda: verify_consistency(size1, size2, root1, bad_hash, proof),  # type: ignore[arg-type]
        lambda: verify_consistency(size1, size2, root1, root2, bad_proof),  # type: ignore[arg-type]
        lambda: verify_consistency(bad_count, size2, root1, root2, proof),  # type: ignore[arg-type]
        lambda: verify_consistency(size1, bad_count, root1, root2, proof),  # type: ignore[arg-type]
    ]
    assert [call() for call in calls] == [False] * len(calls)


@FEW
@given(
    st.integers(-(2**70), 2**70),
    st.integers(-(2**70), 2**70),
    st.lists(st.sampled_from(LEAVES), max_size=4),
)
def test_inclusion_verifier_rejects_any_index_outside_the_tree(
    index: int, size: int, proof: list[bytes]
) -> None:
    if 0 <= index < size:
        index, size = size, index  # swapped: now index >= size
    assert verify_inclusion(LEAVES[0], index, size, proof, ROOTS[1]) is False


@FEW
@given(
    st.integers(-(2**70), 0),
    st.integers(-(2**70), 2**70),
    st.lists(st.sampled_from(LEAVES), max_size=4),
)
def test_consistency_verifier_rejects_an_empty_or_negative_old_tree(
    size1: int, size2: int, proof: list[bytes]
) -> None:
    assert verify_consistency(size1, size2, ROOTS[0], ROOTS[2], proof) is False
    assert verify_consistency(size1, size2, ROOTS[2], ROOTS[2], []) is False


@FEW
@given(consistency_cases())
def test_consistency_verifier_rejects_an_old_tree_larger_than_the_new_one(
    case: tuple[int, int],
) -> None:
    smaller, larger = case
    proof = consistency_proof(LEAVES, smaller, larger)
    assert not verify_consistency(larger, smaller, ROOTS[larger], ROOTS[smaller], proof)
    assert not verify_consistency(larger, smaller, ROOTS[smaller], ROOTS[larger], proof)


@FEW
@given(
    st.integers(1, MAX_LEAVES),
    st.integers(0, MAX_LEAVES),
    st.lists(st.sampled_from(LEAVES), max_size=3),
)
def test_equal_sizes_are_consistent_only_with_equal_roots_and_an_empty_proof(
    size: int, other: int, proof: list[bytes]
) -> None:
    root = ROOTS[size]
    assert verify_consistency(size, size, root, root, [])
    assert verify_consistency(size, size, root, ROOTS[other], []) is (other == size)
    if proof:
        assert not verify_consistency(size, size, root, root, proof)


# --- Generators and range helpers reject bad arguments -------------------------------------------


@pytest.mark.parametrize(("index", "size"), [(-1, 1), (0, 0), (1, 1), (5, 3), (0, -1)])
def test_inclusion_ranges_and_proof_refuse_an_index_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError):
        inclusion_ranges(index, size)
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES, index, size)


@pytest.mark.parametrize(("size1", "size2"), [(0, 0), (0, 5), (-1, 5), (3, 2), (1, 0)])
def test_consistency_ranges_and_proof_refuse_sizes_out_of_order(size1: int, size2: int) -> None:
    with pytest.raises(ValueError):
        consistency_ranges(size1, size2)
    with pytest.raises(ValueError):
        consistency_proof(LEAVES, size1, size2)


def test_proof_generators_refuse_a_tree_larger_than_the_leaves_given() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES[:4], 0, 5)
    with pytest.raises(ValueError):
        consistency_proof(LEAVES[:4], 2, 5)


def test_consistency_ranges_between_equal_sizes_are_empty() -> None:
    assert all(consistency_ranges(size, size) == [] for size in range(1, 100))


# --- aligned_subtrees and fold_right ------------------------------------------------------------


def test_aligned_subtrees_fold_to_the_mth_of_every_range_a_proof_uses() -> None:
    ranges = proof_ranges_up_to(EXHAUSTIVE_UP_TO) | {(0, size) for size in range(1, MAX_LEAVES + 1)}
    for start, end in ranges:
        pieces = aligned_subtrees(start, end)
        assert fold_right([subtree_hash(*piece) for piece in pieces]) == root_hash(
            LEAVES[start:end]
        ), (start, end)


@FEW
@given(st.integers(0, 2**40), st.integers(1, 2**40))
def test_aligned_subtrees_are_contiguous_aligned_and_strictly_shrinking(
    position: int, length: int
) -> None:
    top = 1 << (length.bit_length() - 1)
    start = position * top
    pieces = aligned_subtrees(start, start + length)
    levels = [level for level, _ in pieces]
    assert levels == sorted(set(levels), reverse=True)
    cursor = start
    for level, index in pieces:
        assert index << level == cursor
        cursor += 1 << level
    assert cursor == start + length


@pytest.mark.parametrize(
    ("start", "end"), [(0, 0), (5, 5), (6, 4), (-2, 2), (1, 3), (2, 6), (4, 13)]
)
def test_aligned_subtrees_refuse_empty_and_misaligned_ranges(start: int, end: int) -> None:
    with pytest.raises(ValueError):
        aligned_subtrees(start, end)


def test_aligned_subtrees_of_a_seven_leaf_tree_are_four_two_and_one() -> None:
    assert aligned_subtrees(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert aligned_subtrees(4, 7) == [(1, 2), (0, 6)]
    assert aligned_subtrees(8, 16) == [(3, 1)]


def test_fold_right_nests_to_the_right() -> None:
    a, b, c = LEAVES[:3]
    assert fold_right([a]) == a
    assert fold_right([a, b]) == node_hash(a, b)
    assert fold_right([a, b, c]) == node_hash(a, node_hash(b, c))
    with pytest.raises(ValueError):
        fold_right([])


# --- Frontier and the storage layout -------------------------------------------------------------


def test_frontier_root_equals_root_hash_at_every_size_up_to_300() -> None:
    frontier = Frontier()
    assert (frontier.size, frontier.root()) == (0, ROOTS[0])
    for size, leaf in enumerate(LEAVES, start=1):
        frontier.append(leaf)
        assert (frontier.size, frontier.root()) == (size, ROOTS[size])


def test_frontier_append_returns_the_subtrees_ending_at_that_leaf_lowest_level_first() -> None:
    frontier = Frontier()
    for index, leaf in enumerate(LEAVES):
        completed = frontier.append(leaf)
        assert len(completed) == completed_levels(index)
        # The level-L subtree ending at leaf `index` starts at index + 1 - 2**L.
        expected = [
            root_hash(LEAVES[index + 1 - 2**level : index + 1])
            for level in range(1, len(completed) + 1)
        ]
        assert completed == expected


def test_stored_subtree_is_in_the_row_of_its_completing_leaf_at_its_level_offset() -> None:
    rows: list[tuple[bytes, bytes]] = []  # per leaf: (leaf hash, hashes its append returned)
    frontier = Frontier()
    for leaf in LEAVES[:200]:
        rows.append((leaf, b"".join(frontier.append(leaf))))
    for level in range(8):
        for index in range(200 >> level):
            leaf, stored = rows[completing_leaf(level, index)]
            found = leaf if level == 0 else stored[(level - 1) * 32 : level * 32]
            assert found == subtree_hash(level, index), (level, index)


def test_completed_levels_counts_the_trailing_one_bits_of_the_leaf_index() -> None:
    assert [completed_levels(n) for n in range(16)] == [
        0,
        1,
        0,
        2,
        0,
        1,
        0,
        3,
        0,
        1,
        0,
        2,
        0,
        1,
        0,
        4,
    ]
    with pytest.raises(ValueError):
        completed_levels(-1)


def test_completing_leaf_is_the_last_leaf_of_the_subtree() -> None:
    assert completing_leaf(0, 5) == 5
    assert completing_leaf(1, 0) == 1
    assert completing_leaf(3, 2) == 23
    for level in range(1, 10):
        for index in range(20):
            assert completed_levels(completing_leaf(level, index)) >= level
    with pytest.raises(ValueError):
        completing_leaf(-1, 0)
    with pytest.raises(ValueError):
        completing_leaf(0, -1)


@pytest.mark.parametrize("bad", [b"", b"x" * 31, b"x" * 33, "x" * 32, bytearray(32), None])
def test_frontier_refuses_a_leaf_that_is_not_a_32_byte_hash(bad: object) -> None:
    frontier = Frontier()
    with pytest.raises(ValueError):
        frontier.append(bad)  # type: ignore[arg-type]
    assert frontier.size == 0


# --- Scale ---------------------------------------------------------------------------------------


def test_root_hash_of_over_a_million_leaves_needs_no_recursion_and_is_right() -> None:
    # With identical leaves the complete subtree of level L is x[L] = node_hash(x[L-1], x[L-1]),
    # so the expected root is a fold of O(log n) hashes, computed independently of root_hash.
    size = 2**20 + 2**9 + 3
    leaf = LEAVES[0]
    complete = [leaf]
    while len(complete) < size.bit_length():
        complete.append(node_hash(complete[-1], complete[-1]))
    peaks = [complete[level] for level in reversed(range(size.bit_length())) if size >> level & 1]
    assert root_hash([leaf] * size) == fold_right(peaks)


def test_a_consistency_proof_commits_to_roots_not_to_the_second_size() -> None:
    # Documents the RFC 9162 property behind "a root is trusted only with its signed size".
    proof = consistency_proof(LEAVES, 1, 257)
    assert verify_consistency(1, 299, ROOTS[1], ROOTS[257], proof)
    assert not verify_consistency(1, 299, ROOTS[1], ROOTS[299], proof)
