"""C2SP signed notes (Ed25519) and C2SP tlog checkpoints.

This module implements

* the signed-note format of https://c2sp.org/signed-note, byte-compatible with
  ``golang.org/x/mod/sumdb/note`` (Ed25519 keys, signature type ``0x01``), and
* the checkpoint note text of https://c2sp.org/tlog-checkpoint.

It deliberately depends only on the standard library and ``cryptography`` so
that an offline verifier can use it without Django.

A signed note looks like::

    <text, one or more lines, each ending in "\\n">
    <blank line>
    \u2014 <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>
    ...

The Ed25519 signature is computed over the note text, including its final
newline but not the separating blank line.

Parsing follows the Go reference implementation, with one deliberate
tightening: every base64 value (keys, signatures, root hashes) must be in
canonical form (what an encoder would produce), so that a given signature or
checkpoint has exactly one textual representation. Go's encoders always
produce canonical base64, so this never rejects a note produced by Go.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteError",
    "SignerKey",
    "VerifierKey",
    "key_hash",
    "open_checkpoint",
    "open_note",
    "sign_checkpoint",
    "sign_note",
]

#: Signature type identifier byte for Ed25519 (c2sp.org/signed-note).
ALG_ED25519 = 0x01
#: Maximum number of signature lines accepted in one note (as Go's ``note.Open``).
MAX_SIGNATURES = 100

_SIG_PREFIX = "\u2014 "  # EM DASH, SPACE
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_ROOT_HASH_SIZE = 32
_MAX_TREE_SIZE = 2**64 - 1
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")

# Go's unicode.IsSpace: the Unicode White_Space property.
_UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


class NoteError(ValueError):
    """A key, note or checkpoint is malformed, or a note failed verification."""


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _utf8(text: str, what: str) -> bytes:
    """Encode ``text`` as UTF-8, rejecting lone surrogates (invalid UTF-8)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8") from None


def _has_control(text: str) -> bool:
    """Report whether ``text`` has an ASCII control character other than newline."""
    return any(ch < " " and ch != "\n" for ch in text)


def _is_valid_name(name: str) -> bool:
    """Report whether ``name`` is a valid key name.

    As Go's ``isValidName``: non-empty, valid UTF-8, no Unicode spaces, no ``+``.
    Additionally no ASCII control characters, which can never appear in a
    signed note anyway.
    """
    if not name or "+" in name or _has_control(name):
        return False
    if any(ch in _UNICODE_SPACES for ch in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _is_valid_name(name):
        raise NoteError(
            f"invalid key name {name!r}: must be non-empty UTF-8 without spaces, "
            "'+' or control characters"
        )


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Decode standard, padded, canonical base64 or raise NoteError."""
    try:
        data = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None
    if _b64encode(data) != text:
        raise NoteError(f"{what} is not canonical base64")
    return data


def _chop(text: str, sep: str) -> tuple[str, str]:
    """Split ``text`` at the first ``sep``, like Go's ``chop`` helper."""
    before, _, after = text.partition(sep)
    return before, after


def _parse_hash(hash16: str, what: str) -> int:
    if not _HEX8.fullmatch(hash16):
        raise NoteError(f"malformed {what}: key hash must be 8 hex digits")
    return int(hash16, 16)


def key_hash(name: str, public_key: bytes) -> int:
    """Return the Ed25519 key hash (key ID) of ``name`` and a 32-byte public key.

    ``SHA-256(name || 0x0A || 0x01 || public_key)[:4]`` as a big-endian uint32.
    """
    digest = hashlib.sha256(
        _utf8(name, "key name") + b"\n" + bytes([ALG_ED25519]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


def _check_note_text(text: str) -> None:
    """Validate a note text as Go's ``Sign``/``Open`` would require."""
    if not isinstance(text, str):
        raise NoteError("note text must be a str")
    if not text.endswith("\n"):
        raise NoteError("malformed note: text must end with a newline")
    _utf8(text, "note text")
    if _has_control(text):
        raise NoteError("malformed note: text contains a control character")


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierKey:
    """An Ed25519 note verifier (public) key, bound to a key name."""

    name: str
    key_hash: int
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.public_key, bytes) or len(self.public_key) != _ED25519_KEY_SIZE:
            raise NoteError("Ed25519 public key must be 32 bytes")
        if self.key_hash != key_hash(self.name, self.public_key):
            raise NoteError(f"key hash {self.key_hash:#010x} does not match key {self.name!r}")

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> VerifierKey:
        """Build a verifier key from a name and a raw 32-byte Ed25519 public key."""
        _check_name(name)
        if len(public_key) != _ED25519_KEY_SIZE:
            raise NoteError("Ed25519 public key must be 32 bytes")
        return cls(name, key_hash(name, public_key), public_key)

    def encode(self) -> str:
        """Return the verifier key string ``<name>+<hash>+<base64(0x01 || key)>``."""
        key64 = _b64encode(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_hash:08x}+{key64}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse a verifier key string, as Go's ``note.NewVerifier``."""
        name, rest = _chop(text, "+")
        hash16, key64 = _chop(rest, "+")
        if not _is_valid_name(name):
            raise NoteError("malformed verifier key: invalid key name")
        expected = _parse_hash(hash16, "verifier key")
        key = _b64decode(key64, "verifier key data")
        if not key:
            raise NoteError("malformed verifier key: empty key data")
        if expected != _raw_key_hash(name, key):
            raise NoteError("verifier key hash does not match the key")
        if key[0] != ALG_ED25519:
            raise NoteError(f"unknown verifier key algorithm {key[0]}")
        if len(key) != 1 + _ED25519_KEY_SIZE:
            raise NoteError("malformed verifier key: Ed25519 key must be 32 bytes")
        return cls(name, expected, key[1:])

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether ``signature`` is a valid Ed25519 signature of ``message``."""
        if len(signature) != _ED25519_SIG_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def _raw_key_hash(name: str, alg_and_key: bytes) -> int:
    """Key hash over an already algorithm-prefixed key (as Go's ``keyHash``)."""
    digest = hashlib.sha256(_utf8(name, "key name") + b"\n" + alg_and_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class SignerKey:
    """An Ed25519 note signer (private) key. Keep :meth:`encode` output secret."""

    name: str
    key_hash: int
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.seed, bytes) or len(self.seed) != _ED25519_KEY_SIZE:
            raise NoteError("Ed25519 private seed must be 32 bytes")
        if self.key_hash != key_hash(self.name, self._public_key()):
            raise NoteError(f"key hash {self.key_hash:#010x} does not match key {self.name!r}")

    def _private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def _public_key(self) -> bytes:
        return self._private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> SignerKey:
        """Build a signer key from a name and a raw 32-byte Ed25519 seed."""
        _check_name(name)
        if len(seed) != _ED25519_KEY_SIZE:
            raise NoteError("Ed25519 private seed must be 32 bytes")
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
        return cls(name, key_hash(name, public.public_bytes(Encoding.Raw, PublicFormat.Raw)), seed)

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        """Generate a fresh random Ed25519 signer key for ``name``."""
        private = Ed25519PrivateKey.generate()
        return cls.from_seed(name, private.private_bytes_raw())

    def encode(self) -> str:
        """Return ``PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>``."""
        key64 = _b64encode(bytes([ALG_ED25519]) + self.seed)
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_hash:08x}+{key64}"

    @classmethod
    def parse(cls, text: str) -> SignerKey:
        """Parse a signer key string, as Go's ``note.NewSigner``."""
        priv1, rest = _chop(text, "+")
        priv2, rest = _chop(rest, "+")
        name, rest = _chop(rest, "+")
        hash16, key64 = _chop(rest, "+")
        if priv1 != "PRIVATE" or priv2 != "KEY":
            raise NoteError("malformed signer key: must start with PRIVATE+KEY+")
        if not _is_valid_name(name):
            raise NoteError("malformed signer key: invalid key name")
        expected = _parse_hash(hash16, "signer key")
        key = _b64decode(key64, "signer key data")
        if not key:
            raise NoteError("malformed signer key: empty key data")
        if key[0] != ALG_ED25519:
            raise NoteError(f"unknown signer key algorithm {key[0]}")
        if len(key) != 1 + _ED25519_KEY_SIZE:
            raise NoteError("malformed signer key: Ed25519 seed must be 32 bytes")
        signer = cls.from_seed(name, key[1:])
        if signer.key_hash != expected:
            raise NoteError("signer key hash does not match the key")
        return signer

    def verifier(self) -> VerifierKey:
        """Return the matching public verifier key."""
        return VerifierKey(self.name, self.key_hash, self._public_key())

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self._private_key().sign(message)


# --------------------------------------------------------------------------
# Signed notes
# --------------------------------------------------------------------------


def sign_note(text: str, *signers: SignerKey) -> str:
    """Sign the note ``text`` with each signer and return the signed note.

    ``text`` must be valid UTF-8, end with a newline and contain no ASCII
    control characters other than newline.
    """
    _check_note_text(text)
    if not signers:
        raise NoteError("at least one signer is required")
    message = text.encode("utf-8")
    lines = []
    for signer in signers:
        blob = signer.key_hash.to_bytes(4, "big") + signer.sign(message)
        lines.append(f"{_SIG_PREFIX}{signer.name} {_b64encode(blob)}\n")
    return text + "\n" + "".join(lines)


def _index_keyring(keyring: Iterable[VerifierKey]) -> dict[tuple[str, int], list[VerifierKey]]:
    index: dict[tuple[str, int], list[VerifierKey]] = {}
    for key in keyring:
        if not isinstance(key, VerifierKey):
            raise TypeError(f"keyring entries must be VerifierKey, not {type(key).__name__}")
        found = index.setdefault((key.name, key.key_hash), [])
        if key not in found:
            found.append(key)
    return index


def _split_note(signed: str) -> tuple[str, list[str]]:
    """Split a signed note into its text and signature lines (without prefix)."""
    if not isinstance(signed, str):
        raise NoteError("signed note must be a str")
    _utf8(signed, "signed note")
    if _has_control(signed):
        raise NoteError("malformed note: contains a control character")
    split = signed.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, sigs = signed[: split + 1], signed[split + 2 :]
    if not sigs.endswith("\n"):
        raise NoteError("malformed note: signature block must end with a newline")
    return text, sigs[:-1].split("\n")


def _parse_signature_line(line: str) -> tuple[str, int, bytes]:
    """Parse ``— <name> <base64>`` into (name, key hash, signature bytes)."""
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("malformed note: signature line must start with an em dash and space")
    name, b64 = _chop(line[len(_SIG_PREFIX) :], " ")
    if not _is_valid_name(name):
        raise NoteError(f"malformed note: invalid key name {name!r} in signature line")
    if not b64:
        raise NoteError("malformed note: empty signature")
    blob = _b64decode(b64, "signature")
    if len(blob) < 5:
        raise NoteError("malformed note: signature too short")
    return name, int.from_bytes(blob[:4], "big"), blob[4:]


def open_note(signed: str, keyring: Iterable[VerifierKey]) -> tuple[str, list[VerifierKey]]:
    """Parse and verify a signed note; return ``(text, verified keys)``.

    Follows Go's ``note.Open``: signatures from keys not in ``keyring`` (by name
    and key hash) are ignored; repeated signatures by the same key are skipped;
    a signature from a known key that does not verify raises :class:`NoteError`;
    more than :data:`MAX_SIGNATURES` signature lines are rejected; and the note
    is rejected unless at least one known key verified it.
    """
    text, lines = _split_note(signed)
    known = _index_keyring(keyring)
    message = text.encode("utf-8")
    verified: list[VerifierKey] = []
    seen: set[tuple[str, int]] = set()
    for count, line in enumerate(lines, start=1):
        name, khash, signature = _parse_signature_line(line)
        if count > MAX_SIGNATURES:
            raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
        candidates = known.get((name, khash))
        if not candidates:
            continue
        if len(candidates) > 1:
            raise NoteError(f"ambiguous key {name}+{khash:08x} in keyring")
        if (name, khash) in seen:
            continue
        seen.add((name, khash))
        key = candidates[0]
        if not key.verify(message, signature):
            raise NoteError(f"invalid signature for key {name}+{khash:08x}")
        verified.append(key)
    if not verified:
        raise NoteError("note has no verifiable signatures")
    return text, verified


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------


def _check_line(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise NoteError(f"checkpoint {what} must be a non-empty string")
    if "\n" in value or _has_control(value):
        raise NoteError(f"checkpoint {what} must be a single line without control characters")
    _utf8(value, f"checkpoint {what}")


@dataclass(frozen=True)
class Checkpoint:
    """A transparency log checkpoint body (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise NoteError("checkpoint size must be an int")
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise NoteError("checkpoint size must be between 0 and 2**64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != _ROOT_HASH_SIZE:
            raise NoteError("checkpoint root hash must be 32 bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for extension in self.extensions:
            _check_line(extension, "extension line")

    def encode(self) -> str:
        """Return the checkpoint note text (ends with a newline)."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text, rejecting anything malformed."""
        _check_note_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("malformed checkpoint: need origin, size and root hash lines")
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise NoteError("malformed checkpoint: empty origin line")
        if not _DECIMAL.fullmatch(size_text):
            raise NoteError(
                f"malformed checkpoint: tree size {size_text!r} is not a decimal "
                "number without leading zeros"
            )
        size = int(size_text)
        if size > _MAX_TREE_SIZE:
            raise NoteError("malformed checkpoint: tree size exceeds 2**64-1")
        root_hash = _b64decode(root_text, "checkpoint root hash")
        if len(root_hash) != _ROOT_HASH_SIZE:
            raise NoteError(f"malformed checkpoint: root hash is {len(root_hash)} bytes, want 32")
        if any(not line for line in extensions):
            raise NoteError("malformed checkpoint: empty extension line")
        return cls(origin, size, root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: SignerKey) -> str:
    """Return ``checkpoint`` encoded as a note signed by ``signer``."""
    return sign_note(checkpoint.encode(), signer)


def open_checkpoint(
    signed: str, keyring: Iterable[VerifierKey], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note and parse its body.

    Raises :class:`NoteError` if the note does not verify against ``keyring``
    (see :func:`open_note`), the body is not a valid checkpoint, or ``origin``
    is given and differs from the checkpoint's origin.
    """
    text, _ = open_note(signed, keyring)
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(
            f"checkpoint origin {checkpoint.origin!r} does not match expected {origin!r}"
        )
    return checkpoint


def key_text(value: str) -> str:
    """A verifier key given on a command line: the key itself, or a file holding it (a
    `.vkey` file). OSError if the file cannot be read."""
    path = Path(value)
    return path.read_text().strip() if path.is_file() else value.strip()
