"""Tests for auditreg.proofs.note (C2SP signed notes and tlog checkpoints).

Known-answer vectors come from:

* golang/mod sumdb/note/note_test.go and note.go package docs (PeterNeumann / EnochRoot),
* golang/mod sumdb/tlog/note_test.go (TestFormatTree / TestParseTree golden tree),
* transparency-dev/formats log/note_test.go (keys, a real sum.golang.org checkpoint and
  witness cosignatures over it) and log/checkpoint_test.go,
* C2SP tlog-checkpoint.md (the example.com/behind-the-sofa checkpoint).

No Django, no database.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from auditreg.proofs.note import (
    MAX_SIGNATURES,
    Checkpoint,
    NoteError,
    SignerKey,
    VerifierKey,
    key_hash,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)

EM = "\u2014"

# --- golang/mod sumdb/note/note_test.go (TestNewVerifier, TestNewSigner, TestSign, TestOpen) ---
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{EM} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
    "RZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{EM} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
    "33WWd1RvMc+QQ=\n"
)

# --- transparency-dev/formats log/note_test.go ---
FORMATS_KEYS = [
    (
        "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs",
        "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ",
    ),
    (
        "Known+451c786d+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH",
        "PRIVATE+KEY+Known+451c786d+AQPRoE2+Z+Ed1HaHBA9F/FfracvcZ2rDU39kCecMEoci",
    ),
    (
        "KnownAgain+4893b26c+AQ+LR7BFF/F/dkpIBjBpSvT0crkteizuUkavAoGeaYMj",
        "PRIVATE+KEY+KnownAgain+4893b26c+ARhZda/l25zjGZswYLDZsLNRzNpmv5wYTN9IoTr1OJ2+",
    ),
    (
        "Unknown+fdbb2e08+AWgRIYZ+8x1Vl+1Q+sR8zciNHiYI1SdlBjNw+RV0rots",
        "PRIVATE+KEY+Unknown+fdbb2e08+Aav2knTC6orbhXX8pMWuNiWgO+Wwk2DB+h1eU2Q1W1nU",
    ),
]
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_TEXT = "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"
SUMDB_SIG = (
    f"{EM} sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfv"
    "imWEPWL+o3GeoWwOoAw=\n"
)
SUMDB_NOTE = SUMDB_TEXT + "\n" + SUMDB_SIG
WITNESS_VKEYS = [
    "monkeys+db4d9f7e+AULaJMvTtDLHPUcUrjdDad9vDlh/PTfC2VV60JUtCfWT",
    "bananas+cf639f13+AaPjhFnPCQnid/Ql32KWhmh+uk72FVRfK+2DLmO3BI3M",
    "witness+f13a86db+AdYV1Ztajd9BvyjP2HgpwrqYL6TjOwIjGMOq8Bu42xbN",
]
WITNESS_SIGS = [
    f"{EM} monkeys 202ffh9ve46Mqbhuyb4wnC2Pwdan5EsXQym/tF1ggXJqhjGosU4T5intH4iKMRgDLxrnXuIjRaU2Nb"
    "vAnaepM6Y+8ww=\n",
    f"{EM} bananas z2OfE+2bbsBZ7NLgfuslc0v7NFW2QyexJ7fhePpoL2N/P7N/COd5S+JNHbQEAlYzz2C5sg0E+x/Mgg"
    "S1mDR6t3/9rQw=\n",
    f"{EM} witness 8TqG25yWGFLdT7WPf/WoyeG3LwqtkXP+8S3yykOVm6EMh4hPgCke6eSVPU4BdtXNMPJBXKF+UpDbGg"
    "CdcpR8SVSoqAU=\n",
]

# --- C2SP tlog-checkpoint.md example ---
C2SP_CHECKPOINT_TEXT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
C2SP_CHECKPOINT_NOTE = (
    C2SP_CHECKPOINT_TEXT
    + "\n"
    + f"{EM} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)

ROOT = hashlib.sha256(b"root").digest()


@pytest.fixture(scope="module")
def peter() -> VerifierKey:
    return VerifierKey.parse(PETER_VKEY)


@pytest.fixture(scope="module")
def enoch() -> VerifierKey:
    return VerifierKey.parse(ENOCH_VKEY)


@pytest.fixture(scope="module")
def log_signer() -> SignerKey:
    return SignerKey.generate("example.com/log")


def _checkpoint(size: int = 10) -> Checkpoint:
    return Checkpoint("example.com/log", size, ROOT)


def _flip_signature_byte(signed: str, index: int) -> str:
    """Flip one bit of the raw signature bytes in the first signature line."""
    text, _, sig_line = signed.rpartition("\n\n")
    prefix, _, b64 = sig_line.rstrip("\n").rpartition(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    return f"{text}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


# ---------------------------------------------------------------------------
# Keys: known answers from Go
# ---------------------------------------------------------------------------


def test_peter_neumann_verifier_key_parses_with_the_go_key_hash(peter: VerifierKey) -> None:
    assert peter.name == "PeterNeumann"
    assert peter.key_hash == 0xC74F20A3
    assert len(peter.public_key) == 32
    assert key_hash("PeterNeumann", peter.public_key) == 0xC74F20A3
    assert peter.encode() == PETER_VKEY


def test_peter_neumann_signer_key_round_trips_and_derives_the_go_verifier() -> None:
    signer = SignerKey.parse(PETER_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_hash == 0xC74F20A3
    assert signer.encode() == PETER_SKEY
    assert signer.verifier().encode() == PETER_VKEY


@pytest.mark.parametrize(("vkey", "skey"), FORMATS_KEYS)
def test_transparency_dev_key_pairs_match_each_other(vkey: str, skey: str) -> None:
    assert SignerKey.parse(skey).verifier() == VerifierKey.parse(vkey)
    assert SignerKey.parse(skey).encode() == skey


def test_verifier_key_with_plus_signs_in_base64_parses() -> None:
    key = VerifierKey.parse(SUMDB_VKEY)
    assert key.name == "sum.golang.org"
    assert key.key_hash == 0x033DE0AE
    assert key.encode() == SUMDB_VKEY


def test_every_truncation_or_byte_change_of_the_verifier_key_is_rejected() -> None:
    # Port of TestNewVerifier's "manglings" loop.
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    VerifierKey.parse(PETER_VKEY[i:j])
    for i, ch in enumerate(PETER_VKEY):
        with pytest.raises(NoteError):
            VerifierKey.parse(PETER_VKEY[:i] + chr(ord(ch) + 1) + PETER_VKEY[i + 1 :])


def test_every_truncation_or_byte_change_of_the_signer_key_is_rejected() -> None:
    # Port of TestNewSigner's "manglings" loop.
    for i in range(len(PETER_SKEY) + 1):
        for j in range(i + 1, len(PETER_SKEY) + 1):
            if (i, j) != (0, len(PETER_SKEY)):
                with pytest.raises(NoteError):
                    SignerKey.parse(PETER_SKEY[i:j])
    for i, ch in enumerate(PETER_SKEY):
        with pytest.raises(NoteError):
            SignerKey.parse(PETER_SKEY[:i] + chr(ord(ch) + 1) + PETER_SKEY[i + 1 :])


def test_verifier_key_of_wrong_length_is_rejected_even_with_a_matching_hash() -> None:
    # Go's vector (its base64 is also non-canonical, which this module rejects first).
    bad = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
    with pytest.raises(NoteError, match="canonical base64"):
        VerifierKey.parse(bad)
    # Same idea with canonical base64: a 33-byte key under a correctly computed hash.
    peter = VerifierKey.parse(PETER_VKEY)
    key = b"\x01" + peter.public_key + b"X"
    digest = hashlib.sha256(b"PeterNeumann\n" + key).digest()[:4].hex()
    long_key = f"PeterNeumann+{digest}+{base64.b64encode(key).decode()}"
    with pytest.raises(NoteError, match="must be 32 bytes"):
        VerifierKey.parse(long_key)


def test_verifier_key_of_unknown_algorithm_is_rejected_even_with_a_matching_hash() -> None:
    bad = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    with pytest.raises(NoteError, match="unknown verifier key algorithm"):
        VerifierKey.parse(bad)


def test_verifier_key_with_a_hash_that_does_not_match_is_rejected() -> None:
    with pytest.raises(NoteError, match="hash does not match"):
        VerifierKey.parse(PETER_VKEY.replace("c74f20a3", "c74f20a4"))


def test_signer_key_with_a_hash_that_does_not_match_is_rejected() -> None:
    with pytest.raises(NoteError, match="hash does not match"):
        SignerKey.parse(PETER_SKEY.replace("c74f20a3", "c74f20a4"))


def test_verifier_key_renamed_to_another_name_is_rejected() -> None:
    with pytest.raises(NoteError, match="hash does not match"):
        VerifierKey.parse(PETER_VKEY.replace("PeterNeumann", "PeterNeumanx"))


def test_signer_key_without_the_private_key_prefix_is_rejected() -> None:
    with pytest.raises(NoteError, match="PRIVATE\\+KEY"):
        SignerKey.parse(PETER_SKEY.replace("PRIVATE+KEY+", "PUBLIC+KEY+"))


@pytest.mark.parametrize(
    "name", ["", "bad name", "a+b", "tab\there", "ideographic\u3000space", "nbsp\xa0", "ctl\x01"]
)
def test_invalid_key_names_are_rejected(name: str) -> None:
    with pytest.raises(NoteError, match="invalid key name"):
        SignerKey.generate(name)


def test_key_name_with_a_lone_surrogate_is_rejected_as_invalid_utf8() -> None:
    with pytest.raises(NoteError):
        VerifierKey.parse("bad\udcff" + PETER_VKEY[len("PeterNeumann") :])


def test_generated_keys_round_trip_through_their_encodings() -> None:
    signer = SignerKey.generate("example.com/log")
    assert SignerKey.parse(signer.encode()) == signer
    assert VerifierKey.parse(signer.verifier().encode()) == signer.verifier()
    signature = signer.sign(b"hi")
    assert len(signature) == 64
    assert signer.verifier().verify(b"hi", signature)
    assert not signer.verifier().verify(b"ho", signature)


def test_signer_key_repr_does_not_leak_the_seed() -> None:
    signer = SignerKey.parse(PETER_SKEY)
    assert signer.seed.hex() not in repr(signer)
    assert "seed" not in repr(signer)


def test_constructing_a_verifier_key_with_an_inconsistent_hash_is_rejected(
    peter: VerifierKey,
) -> None:
    with pytest.raises(NoteError, match="does not match"):
        VerifierKey("PeterNeumann", 0xC74F20A4, peter.public_key)


# ---------------------------------------------------------------------------
# Signed notes: known answers from Go
# ---------------------------------------------------------------------------


def test_signing_the_go_example_note_gives_exactly_the_go_signature() -> None:
    assert sign_note(GO_TEXT, SignerKey.parse(PETER_SKEY)) == GO_TEXT + "\n" + PETER_SIG


def test_opening_a_note_verifies_the_known_key_and_ignores_the_unknown_one(
    peter: VerifierKey,
) -> None:
    text, keys = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter])
    assert text == GO_TEXT
    assert keys == [peter]


def test_opening_a_note_verifies_both_known_keys_in_signature_order(
    peter: VerifierKey, enoch: VerifierKey
) -> None:
    _, keys = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [enoch, peter])
    assert keys == [peter, enoch]


def test_note_signed_only_by_unknown_keys_is_rejected() -> None:
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])


def test_duplicate_signatures_are_collapsed_as_go_does(peter: VerifierKey) -> None:
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    signed = GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd
    assert open_note(signed, [peter]) == (GO_TEXT, [peter])


def test_exactly_one_hundred_signatures_are_accepted(peter: VerifierKey) -> None:
    assert open_note(GO_TEXT + "\n" + PETER_SIG * MAX_SIGNATURES, [peter])[1] == [peter]


@pytest.mark.parametrize("keyring", [[], "peter"])
def test_more_than_one_hundred_signatures_are_rejected(keyring: object, peter: VerifierKey) -> None:
    keys = [peter] if keyring == "peter" else []
    with pytest.raises(NoteError, match="more than 100 signatures"):
        open_note(GO_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), keys)


def test_known_key_with_a_corrupted_signature_is_reported_as_invalid(peter: VerifierKey) -> None:
    signed = GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        open_note(signed, [peter])


@pytest.mark.parametrize(
    "signed",
    [
        pytest.param(GO_TEXT, id="no-signatures"),
        pytest.param(GO_TEXT + "\n", id="blank-line-only"),
        pytest.param(GO_TEXT + "\n" + PETER_SIG[:-1], id="no-trailing-newline"),
        pytest.param("\x01" + GO_TEXT + "\n" + PETER_SIG, id="control-character"),
        pytest.param("\udcff" + GO_TEXT + "\n" + PETER_SIG, id="invalid-utf8"),
        pytest.param(GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"), id="space"),
        pytest.param(GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n", id="unexpected-line"),
    ],
)
def test_go_malformed_notes_are_rejected(signed: str, peter: VerifierKey) -> None:
    # The badMsgs list of TestOpen.
    with pytest.raises(NoteError, match=r"malformed note|not valid UTF-8|not valid base64"):
        open_note(signed, [peter])


# ---------------------------------------------------------------------------
# Signed notes: attacks and malformed input
# ---------------------------------------------------------------------------


def test_note_with_one_altered_text_byte_is_rejected(peter: VerifierKey) -> None:
    signed = GO_TEXT.replace("answer", "ANSWER") + "\n" + PETER_SIG
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(signed, [peter])


@pytest.mark.parametrize("index", [4, 20, 67])
def test_note_with_one_altered_signature_byte_is_rejected(index: int, peter: VerifierKey) -> None:
    signed = _flip_signature_byte(GO_TEXT + "\n" + PETER_SIG, index)
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(signed, [peter])


def test_signature_with_an_altered_key_hash_byte_is_ignored_as_unknown(
    peter: VerifierKey,
) -> None:
    signed = _flip_signature_byte(GO_TEXT + "\n" + PETER_SIG, 0)
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(signed, [peter])


def test_non_canonical_base64_signature_is_rejected(peter: VerifierKey) -> None:
    # "AM=" -> "AN=": same decoded bytes, but not what an encoder produces.
    signed = GO_TEXT + "\n" + PETER_SIG.replace("JnAM=", "JnAN=")
    with pytest.raises(NoteError, match="canonical"):
        open_note(signed, [peter])


def test_signature_moved_to_another_text_is_rejected(peter: VerifierKey) -> None:
    with pytest.raises(NoteError, match="invalid signature"):
        open_note("Some other text.\n\n" + PETER_SIG, [peter])


def test_signature_line_with_a_wrong_key_name_is_not_accepted(peter: VerifierKey) -> None:
    signed = GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(signed, [peter])


def test_forged_signature_by_a_known_key_rejects_the_note_despite_a_good_one(
    peter: VerifierKey, enoch: VerifierKey
) -> None:
    forged_enoch = f"{EM} EnochRoot " + PETER_SIG.split(" ")[2].replace("x08go/ZJ", "rwz+eBzm")
    with pytest.raises(NoteError, match="invalid signature for key EnochRoot"):
        open_note(GO_TEXT + "\n" + PETER_SIG + forged_enoch, [peter, enoch])


@pytest.mark.parametrize(
    "dash",
    ["\u2013 ", "- ", "--", "\u2014", "\u2014\u00a0"],
    ids=["en", "hyphen", "2x", "nosp", "nbsp"],
)
def test_signature_line_without_an_em_dash_and_space_is_rejected(
    dash: str, peter: VerifierKey
) -> None:
    signed = GO_TEXT + "\n" + PETER_SIG.replace(f"{EM} ", dash, 1)
    with pytest.raises(NoteError, match="malformed note"):
        open_note(signed, [peter])


def test_note_without_a_blank_line_before_the_signatures_is_rejected(peter: VerifierKey) -> None:
    with pytest.raises(NoteError, match="no blank line"):
        open_note(GO_TEXT + PETER_SIG, [peter])


def test_note_without_a_final_newline_is_rejected(peter: VerifierKey) -> None:
    with pytest.raises(NoteError, match="must end with a newline"):
        open_note(GO_TEXT + "\n" + PETER_SIG.rstrip("\n"), [peter])


@pytest.mark.parametrize("b64", ["not*base64", "AAAA=", "", "AAAAAA=="])
def test_signature_with_bad_base64_or_too_short_is_rejected(b64: str, peter: VerifierKey) -> None:
    signed = GO_TEXT + "\n" + f"{EM} PeterNeumann {b64}\n"
    with pytest.raises(NoteError, match=r"base64|empty signature|too short"):
        open_note(signed, [peter])


def test_text_with_blank_lines_and_dash_lines_survives_signing(log_signer: SignerKey) -> None:
    text = f"hello\n\n{EM} fake AAAA\n"
    assert open_note(sign_note(text, log_signer), [log_signer.verifier()]) == (
        text,
        [log_signer.verifier()],
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no newline", "end with a newline"),
        ("", "end with a newline"),
        ("nul\x00\n", "control character"),
        ("surrogate\udcff\n", "UTF-8"),
    ],
)
def test_signing_a_malformed_text_is_rejected(
    text: str, message: str, log_signer: SignerKey
) -> None:
    with pytest.raises(NoteError, match=message):
        sign_note(text, log_signer)


def test_signing_without_any_signer_is_rejected() -> None:
    with pytest.raises(NoteError, match="at least one signer"):
        sign_note("hello\n")


def test_note_signed_by_several_keys_verifies_with_any_one_of_them() -> None:
    first, second = SignerKey.generate("a.example"), SignerKey.generate("b.example")
    signed = sign_note("hello\n", first, second)
    assert signed.count(f"\n{EM} ") == 2
    assert open_note(signed, [second.verifier()]) == ("hello\n", [second.verifier()])
    assert open_note(signed, iter([first.verifier()]))[1] == [first.verifier()]


# ---------------------------------------------------------------------------
# Checkpoints: known answers
# ---------------------------------------------------------------------------


def test_real_sum_golang_org_checkpoint_opens_with_its_published_key() -> None:
    checkpoint = open_checkpoint(
        SUMDB_NOTE, [VerifierKey.parse(SUMDB_VKEY)], origin="go.sum database tree"
    )
    assert checkpoint.origin == "go.sum database tree"
    assert checkpoint.size == 6476701
    assert checkpoint.root_hash == base64.b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=")
    assert checkpoint.extensions == ()
    assert checkpoint.encode() == SUMDB_TEXT


def test_real_checkpoint_with_witness_cosignatures_verifies_every_known_witness() -> None:
    unknown = [line.replace("witness", "random1", 1) for line in WITNESS_SIGS[2:]]
    signed = SUMDB_NOTE + "".join(WITNESS_SIGS) + "".join(unknown)
    keyring = [VerifierKey.parse(SUMDB_VKEY), *(VerifierKey.parse(k) for k in WITNESS_VKEYS)]
    _, keys = open_note(signed, keyring)
    assert [k.name for k in keys] == ["sum.golang.org", "monkeys", "bananas", "witness"]


def test_real_sum_golang_org_checkpoint_with_another_origin_is_rejected() -> None:
    with pytest.raises(NoteError, match="does not match expected"):
        open_checkpoint(SUMDB_NOTE, [VerifierKey.parse(SUMDB_VKEY)], origin="example.com/log")


def test_go_tlog_golden_tree_formats_and_parses() -> None:
    # golang/mod sumdb/tlog/note_test.go TestFormatTree: RecordHash("hello world").
    golden = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
    record_hash = hashlib.sha256(b"\x00hello world").digest()
    checkpoint = Checkpoint("go.sum database tree", 123456789012, record_hash)
    assert checkpoint.encode() == golden
    assert Checkpoint.parse(golden) == checkpoint


def test_c2sp_spec_example_checkpoint_parses_but_is_not_trusted_without_its_key() -> None:
    checkpoint = Checkpoint.parse(C2SP_CHECKPOINT_TEXT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.encode() == C2SP_CHECKPOINT_TEXT
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_checkpoint(C2SP_CHECKPOINT_NOTE, [VerifierKey.parse(PETER_VKEY)])


@pytest.mark.parametrize(
    "text",
    [
        # transparency-dev/formats log/checkpoint_test.go: hashes are not 32 bytes.
        "Log\n123\nYmFuYW5hcw==\n",
        "Moon Log\n4027504\naXQncyBhIHJvb3QgaGFzaA==\n6086d1a9\nWaxing gibbous\n",
        # golang/mod sumdb/tlog/note_test.go TestParseTree bad trees.
        "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",
    ],
)
def test_published_invalid_checkpoint_bodies_are_rejected(text: str) -> None:
    with pytest.raises(NoteError, match=r"malformed checkpoint|base64"):
        Checkpoint.parse(text)


# ---------------------------------------------------------------------------
# Checkpoints: round trips, key rotation, attacks
# ---------------------------------------------------------------------------


def test_checkpoint_with_extensions_round_trips_through_a_signed_note(
    log_signer: SignerKey,
) -> None:
    checkpoint = Checkpoint("example.com/log", 0, ROOT, ("ext one", "ext two"))
    signed = sign_checkpoint(checkpoint, log_signer)
    assert signed.startswith(f"example.com/log\n0\n{base64.b64encode(ROOT).decode()}\n")
    assert open_checkpoint(signed, [log_signer.verifier()], "example.com/log") == checkpoint


def test_retired_key_in_the_keyring_still_verifies_an_old_checkpoint() -> None:
    retired = SignerKey.generate("example.com/log")
    current = SignerKey.generate("example.com/log")
    keyring = [retired.verifier(), current.verifier()]
    old = sign_checkpoint(_checkpoint(5), retired)
    new = sign_checkpoint(_checkpoint(9), current)
    assert open_checkpoint(old, keyring, "example.com/log").size == 5
    assert open_checkpoint(new, keyring, "example.com/log").size == 9
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_checkpoint(old, [current.verifier()])


def test_checkpoint_signed_by_the_right_name_but_another_key_is_rejected(
    log_signer: SignerKey,
) -> None:
    impostor = SignerKey.generate(log_signer.name)
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_checkpoint(sign_checkpoint(_checkpoint(), impostor), [log_signer.verifier()])


def test_checkpoint_with_an_altered_size_is_rejected(log_signer: SignerKey) -> None:
    signed = sign_checkpoint(_checkpoint(10), log_signer).replace("\n10\n", "\n11\n", 1)
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(signed, [log_signer.verifier()])


def test_signed_checkpoint_with_a_different_origin_is_rejected(log_signer: SignerKey) -> None:
    signed = sign_checkpoint(_checkpoint(), log_signer)
    with pytest.raises(NoteError, match=r"origin 'example\.com/log' does not match"):
        open_checkpoint(signed, [log_signer.verifier()], origin="example.com/other")


def test_signed_note_that_is_not_a_checkpoint_is_rejected(log_signer: SignerKey) -> None:
    signed = sign_note("if this is a valid checkpoint then I'll eat my hat\n", log_signer)
    with pytest.raises(NoteError, match="malformed checkpoint"):
        open_checkpoint(signed, [log_signer.verifier()])


ROOT_B64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(f"log\n01\n{ROOT_B64}\n", "leading zeros", id="leading-zero"),
        pytest.param(f"log\n00\n{ROOT_B64}\n", "leading zeros", id="double-zero"),
        pytest.param(f"log\n-1\n{ROOT_B64}\n", "not a decimal", id="negative"),
        pytest.param(f"log\n+1\n{ROOT_B64}\n", "not a decimal", id="plus-sign"),
        pytest.param(f"log\n1e3\n{ROOT_B64}\n", "not a decimal", id="exponent"),
        pytest.param(f"log\n0x10\n{ROOT_B64}\n", "not a decimal", id="hex"),
        pytest.param(f"log\n 1\n{ROOT_B64}\n", "not a decimal", id="space"),
        pytest.param(f"log\n1_000\n{ROOT_B64}\n", "not a decimal", id="underscore"),
        pytest.param(f"log\n\uff11\n{ROOT_B64}\n", "not a decimal", id="fullwidth-digit"),
        pytest.param(f"log\n\n{ROOT_B64}\n", "not a decimal", id="empty-size"),
        pytest.param(f"log\n{2**64}\n{ROOT_B64}\n", "exceeds", id="too-large"),
        pytest.param(f"log\n1\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes", id="root-31"),
        pytest.param(
            f"log\n1\n{base64.b64encode(ROOT + b'x').decode()}\n", "33 bytes", id="root-33"
        ),
        pytest.param("log\n1\nnot base64!\n", "base64", id="root-not-base64"),
        pytest.param(f"log\n1\n{ROOT_B64.rstrip('=')}\n", "base64", id="root-unpadded"),
        pytest.param("log\n1\n", "need origin, size and root hash", id="missing-root"),
        pytest.param(f"\n1\n{ROOT_B64}\n", "empty origin", id="empty-origin"),
        pytest.param(f"log\n1\n{ROOT_B64}\n\n", "empty extension line", id="trailing-blank"),
        pytest.param(f"log\n1\n{ROOT_B64}\na\n\nb\n", "empty extension line", id="mid-blank"),
        pytest.param(f"log\n1\n{ROOT_B64}", "end with a newline", id="no-final-newline"),
        pytest.param(f"log\x00\n1\n{ROOT_B64}\n", "control character", id="nul"),
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Checkpoint.parse(text)


def test_largest_uint64_tree_size_is_accepted() -> None:
    assert Checkpoint.parse(f"log\n{2**64 - 1}\n{ROOT_B64}\n").size == 2**64 - 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"origin": ""}, "origin"),
        ({"origin": "a\nb"}, "origin"),
        ({"size": -1}, "size"),
        ({"size": True}, "size"),
        ({"root_hash": ROOT[:31]}, "32 bytes"),
        ({"extensions": ("",)}, "extension"),
        ({"extensions": ("a\nb",)}, "extension"),
    ],
)
def test_invalid_checkpoint_values_cannot_be_constructed(
    kwargs: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {"origin": "log", "size": 1, "root_hash": ROOT}
    values.update(kwargs)
    with pytest.raises(NoteError, match=message):
        Checkpoint(**values)  # type: ignore[arg-type]
