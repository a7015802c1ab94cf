"""Known-answer tests against published RFC 6962 / RFC 9162 test vectors.

The leaves, node hashes and roots are from transparency-dev/merkle, testonly/constants.go
(commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1). The inclusion and consistency proofs are
from the same repository: testonly/reference_test.go (commit
141d627eab770a7e9a2514f46a8b6338e6d90874, TestRefInclusionProof and TestRefConsistencyProof)
and proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472, inclusionProofs and
consistencyProofs; that file numbers leaves from 1, here they are 0-based). RFC 6962 and
RFC 9162 define the same tree and proofs for SHA-256.
"""

import pytest

from auditreg.proofs.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from auditreg.proofs.subtrees import Frontier

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]

# NodeHashes(): NODE_HASHES[level][index] is the complete subtree over the leaves
# [index * 2**level, (index + 1) * 2**level).
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    [
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ],
]

# RootHashes(): ROOTS[size] is the root of the tree of the first `size` leaves.
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# (index, size, proof)
INCLUSION_PROOFS = [
    (0, 1, []),
    (0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
    (1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# (size1, size2, proof)
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# sha256SomeHash from proof/verify_test.go: a well-formed hash that is in no tree here.
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

LEAVES = [leaf_hash(data) for data in LEAF_INPUTS]


def unhex(hashes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hashes]


def test_the_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root_hash([]) == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert Frontier().root() == root_hash([])


def test_leaf_hashes_match_the_published_level_zero_nodes() -> None:
    assert [h.hex() for h in LEAVES] == NODE_HASHES[0]


def test_node_hashes_match_the_published_complete_subtrees() -> None:
    for level in range(1, len(NODE_HASHES)):
        below = unhex(NODE_HASHES[level - 1])
        pairs = [node_hash(below[i], below[i + 1]) for i in range(0, len(below), 2)]
        assert [h.hex() for h in pairs] == NODE_HASHES[level]
        width = 2**level
        subtrees = [root_hash(LEAVES[i : i + width]) for i in range(0, 8, width)]
        assert [h.hex() for h in subtrees] == NODE_HASHES[level]


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_root_of_each_prefix_matches_the_published_root(size: int) -> None:
    assert root_hash(LEAVES[:size]).hex() == ROOTS[size]


def test_frontier_roots_match_the_published_roots_as_leaves_arrive() -> None:
    frontier = Frontier()
    roots = [frontier.root().hex()]
    for leaf in LEAVES:
        frontier.append(leaf)
        roots.append(frontier.root().hex())
    assert roots == ROOTS


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_PROOFS)
def test_inclusion_proof_matches_the_published_proof(
    index: int, size: int, expected: list[str]
) -> None:
    assert inclusion_proof(LEAVES, index, size) == unhex(expected)


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_PROOFS)
def test_published_inclusion_proof_verifies(index: int, size: int, expected: list[str]) -> None:
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(LEAVES[index], index, size, unhex(expected), root)


@pytest.mark.parametrize(("size1", "size2", "expected"), CONSISTENCY_PROOFS)
def test_consistency_proof_matches_the_published_proof(
    size1: int, size2: int, expected: list[str]
) -> None:
    assert consistency_proof(LEAVES, size1, size2) == unhex(expected)


@pytest.mark.parametrize(("size1", "size2", "expected"), CONSISTENCY_PROOFS)
def test_published_consistency_proof_verifies(size1: int, size2: int, expected: list[str]) -> None:
    root1, root2 = bytes.fromhex(ROOTS[size1]), bytes.fromhex(ROOTS[size2])
    assert verify_consistency(size1, size2, root1, root2, unhex(expected))


# The probes below port corruptInclusionProof / corruptConsistencyProof from
# proof/verify_test.go: each published proof must fail once anything about it is wrong.


def corrupted_inclusion_probes(
    index: int, size: int, proof: list[bytes], root: bytes
) -> dict[str, tuple[bytes, int, int, list[bytes], bytes]]:
    leaf = LEAVES[index]
    probes = {
        "index - 1": (leaf, index - 1, size, proof, root),
        "index + 1": (leaf, index + 1, size, proof, root),
        "index ^ 2": (leaf, index ^ 2, size, proof, root),
        "size * 2": (leaf, index, size * 2, proof, root),
        "size // 2": (leaf, index, size // 2, proof, root),
        "wrong leaf": (b"WrongLeaf", index, size, proof, root),
        "empty root": (leaf, index, size, proof, root_hash([])),
        "random root": (leaf, index, size, proof, SOME_HASH),
        "trailing garbage": (leaf, index, size, [*proof, b""], root),
        "trailing root": (leaf, index, size, [*proof, root], root),
        "preceding garbage": (leaf, index, size, [b"", *proof], root),
        "preceding root": (leaf, index, size, [root, *proof], root),
    }
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        probes[f"proof[{i}] bit 3 flipped"] = (leaf, index, size, flipped, root)
    if proof:
        probes["removed component"] = (leaf, index, size, proof[:-1], root)
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes["inserted component"] = (leaf, index, size, inserted, root)
    return probes


def corrupted_consistency_probes(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> dict[str, tuple[int, int, bytes, bytes, list[bytes]]]:
    probes = {
        "size1 - 1": (size1 - 1, size2, root1, root2, proof),
        "size1 + 1": (size1 + 1, size2, root1, root2, proof),
        "size1 ^ 2": (size1 ^ 2, size2, root1, root2, proof),
        "size2 * 2": (size1, size2 * 2, root1, root2, proof),
        "size2 // 2": (size1, size2 // 2, root1, root2, proof),
        "wrong root1": (size1, size2, b"WrongRoot", root2, proof),
        "wrong root2": (size1, size2, root1, b"WrongRoot", proof),
        "swapped roots": (size1, size2, root2, root1, proof),
        "empty proof": (size1, size2, root1, root2, []),
        "trailing garbage": (size1, size2, root1, root2, [*proof, b""]),
        "trailing root1": (size1, size2, root1, root2, [*proof, root1]),
        "trailing root2": (size1, size2, root1, root2, [*proof, root2]),
        "preceding garbage": (size1, size2, root1, root2, [b"", *proof]),
        "preceding root1": (size1, size2, root1, root2, [root1, *proof]),
        "preceding root2": (size1, size2, root1, root2, [root2, *proof]),
        "preceding proof[0]": (size1, size2, root1, root2, [proof[0], *proof]),
        "truncated proof": (size1, size2, root1, root2, proof[:-1]),
    }
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([proof[i][0] ^ 16]) + proof[i][1:]
        probes[f"proof[{i}] bit 4 flipped"] = (size1, size2, root1, root2, flipped)
    return probes


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_PROOFS)
def test_published_inclusion_proof_fails_once_corrupted(
    index: int, size: int, expected: list[str]
) -> None:
    root = bytes.fromhex(ROOTS[size])
    probes = corrupted_inclusion_probes(index, size, unhex(expected), root)
    accepted = [name for name, args in probes.items() if verify_inclusion(*args)]
    assert accepted == []


@pytest.mark.parametrize(
    ("size1", "size2", "expected"), [v for v in CONSISTENCY_PROOFS if v[0] != v[1]]
)
def test_published_consistency_proof_fails_once_corrupted(
    size1: int, size2: int, expected: list[str]
) -> None:
    root1, root2 = bytes.fromhex(ROOTS[size1]), bytes.fromhex(ROOTS[size2])
    probes = corrupted_consistency_probes(size1, size2, unhex(expected), root1, root2)
    accepted = [name for name, args in probes.items() if verify_consistency(*args)]
    assert accepted == []


def test_single_leaf_tree_proves_inclusion_only_for_its_own_root_and_leaf() -> None:
    # TestVerifyInclusionSingleEntry: a one-leaf tree's root is its leaf hash.
    leaf = leaf_hash(b"data")
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(b"", 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], b"")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_empty_proof_with_a_mismatched_or_malformed_root_is_rejected(index: int, size: int) -> None:
    # TestVerifyInclusion's probes: none of these pairs a leaf with its own root.
    empty_root = root_hash([])
    assert not verify_inclusion(SOME_HASH, index, size, [], b"")
    assert not verify_inclusion(b"", index, size, [], empty_root)
    assert not verify_inclusion(SOME_HASH, index, size, [], empty_root)


def test_consistency_cases_from_the_reference_verifier_test() -> None:
    # TestVerifyConsistency. One deliberate difference: that test accepts size1 = 0 (the empty
    # tree is a prefix of every tree); RFC 9162 §2.1.4 requires 0 < size1, and so do we.
    root1, root2 = LEAVES[1], LEAVES[2]  # well-formed, unrelated "don't care" roots
    empty_root = root_hash([])
    assert not verify_consistency(0, 0, root1, root2, [])
    assert not verify_consistency(1, 1, root1, root2, [])
    assert verify_consistency(1, 1, root2, root2, [])
    assert not verify_consistency(0, 0, root1, root1, [])
    assert not verify_consistency(0, 1, root1, root2, [])
    assert not verify_consistency(1, 0, root1, root2, [])
    assert not verify_consistency(2, 1, root1, root2, [])
    assert not verify_consistency(1, 2, root1, root2, [])
    assert not verify_consistency(0, 0, empty_root, root2, [])
    assert not verify_consistency(1, 1, empty_root, root2, [])
    assert not verify_consistency(0, 0, empty_root, empty_root, [empty_root])
    assert not verify_consistency(0, 1, empty_root, empty_root, [empty_root])
    assert not verify_consistency(1, 1, empty_root, empty_root, [empty_root])
