"""Checkpoint signing keys, read from files in AUDITREG_KEYS_DIR (never from the database).

- `ledger.key`: the current signer key, in the signed-note private key format.
- `*.vkey`: the keyring: one verifier key per file, retired keys included, so checkpoints
  signed before a key rotation still verify.

The folder is made readable by its owner alone, and a key is refused a folder others may
write to; `write_file` also writes the document-signing keys (`reports.certs`).
"""

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from django.conf import settings

from auditreg.errors import DomainError
from auditreg.proofs.note import NoteError, SignerKey, VerifierKey

SIGNER_FILE = "ledger.key"


def keys_dir() -> Path:
    return Path(settings.AUDITREG_KEYS_DIR)


def load_signer() -> SignerKey:
    path = keys_dir() / SIGNER_FILE
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise DomainError(
            f"no checkpoint signing key at {path}: run `manage.py init_keys` "
            "or set AUDITREG_KEYS_DIR"
        ) from None
    try:
        return SignerKey.parse(text)
    except NoteError as exc:
        raise DomainError(f"{path} is not a valid signer key: {exc}") from None


def load_keyring() -> list[VerifierKey]:
    keyring = []
    for path in sorted(keys_dir().glob("*.vkey")):
        try:
            keyring.append(VerifierKey.parse(path.read_text().strip()))
        except NoteError as exc:
            raise DomainError(f"{path} is not a valid verifier key: {exc}") from None
    return keyring


def create_signer(name: str, *, rotate: bool = False) -> tuple[SignerKey, bool]:
    """Create the signing key and add its public key to the keyring.

    Returns (key, created). Without `rotate` an existing key is kept. With `rotate` the old
    private key is destroyed and its public key stays in the keyring as a retired key.
    """
    directory = keys_dir()
    path = directory / SIGNER_FILE
    if path.exists() and not rotate:
        return load_signer(), False
    try:
        signer = SignerKey.generate(name)
    except NoteError as exc:
        raise DomainError(f"key name {name!r} is not valid: {exc}") from None
    make_private_dir(directory)
    verifier = signer.verifier()
    vkey_path = directory / f"{_file_safe(verifier.name)}-{verifier.key_hash:08x}.vkey"
    write_file(vkey_path, (verifier.encode() + "\n").encode(), mode=0o644)
    write_file(path, (signer.encode() + "\n").encode(), mode=0o600)
    return signer, True


def make_private_dir(directory: Path) -> None:
    """Create a folder for private keys, 0700; refuse an existing one that users other than
    its owner may write to, where a key could be swapped or read through a planted file."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise DomainError(
            f"{directory} is writable by other users: no key is written there "
            f"(`chmod 700 {directory}`)"
        )


def write_file(path: Path, data: bytes, *, mode: int) -> None:
    """Write `path` whole or not at all, with `mode` from its first byte: through a new file
    of a random name in the same folder (created exclusively, so neither a file nor a
    symbolic link planted there is used), renamed over `path` once written."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
