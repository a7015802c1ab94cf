"""Content digests a training job reports: `sha256:` and 64 lower-case hex digits."""

import hashlib
import os
from pathlib import Path

import rfc8785

CHUNK = 1 << 20


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks (any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def directory_digest(path: str | Path) -> str:
    """The digest of a directory tree of files (a dataset folder, a saved model).

    The SHA-256 of the RFC 8785 canonical JSON of the list of
    `{"path": <path relative to the directory, POSIX separators>, "sha256": <hex of the
    file's bytes>}` for every file under it, sorted by path (as Python sorts strings, by code
    point). Empty directories do not count; a symbolic link to a file counts as that file, a
    link to a directory is not followed. Anyone can recompute it without this code:

        sha256(rfc8785.dumps(sorted([{"path": ..., "sha256": ...}, ...], key=by_path)))
    """
    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    listing = [
        {"path": name, "sha256": file_digest(root / name).removeprefix("sha256:")}
        for name in sorted(_files(root))
    ]
    return f"sha256:{hashlib.sha256(rfc8785.dumps(listing)).hexdigest()}"


def _files(root: Path) -> list[str]:
    names = []
    for folder, _, files in os.walk(root):
        for name in files:
            file = Path(folder, name)
            if file.is_file():  # not a broken link, a socket or a pipe
                names.append(file.relative_to(root).as_posix())
    return names
