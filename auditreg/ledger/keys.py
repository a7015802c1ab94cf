"""Checkpoint signing keys, read from files in AUDITREG_KEYS_DIR (never from the database).

- `ledger.key`: the current signer key, in the signed-note private key format.
- `*.vkey`: the keyring: one verifier key per file, retired keys included, so checkpoints
  signed before a key rotation still verify.
"""

import os
from pathlib import Path

from django.conf import settings

from auditreg.errors import DomainError
from auditreg.ledger.note import NoteError, SignerKey, VerifierKey

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
    directory.mkdir(parents=True, exist_ok=True)
    verifier = signer.verifier()
    vkey_path = directory / f"{_file_safe(verifier.name)}-{verifier.key_hash:08x}.vkey"
    vkey_path.write_text(verifier.encode() + "\n")
    _write_private(path, signer.encode() + "\n")
    return signer, True


def _write_private(path: Path, text: str) -> None:
    # Written to a new 0600 file and renamed over the old one, so a crash never leaves a
    # half-written key and the key is never readable by others, even for a moment.
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
