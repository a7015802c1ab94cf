"""The organisation's document-signing certificate, read from PEM files (never the database).

Production names its own files (the key, its certificate, and the CA certificates to embed
in each signature up to the root):

    AUDITREG_SIGNING_KEY=/run/secrets/signing.key
    AUDITREG_SIGNING_CERT=/etc/auditreg/signing.crt
    AUDITREG_SIGNING_CHAIN=/etc/auditreg/chain.pem

Otherwise the files are those `manage.py init_signing_cert` writes into AUDITREG_SIGNING_DIR
(default `<AUDITREG_KEYS_DIR>/signing`): a development CA (`ca.key`, `ca.crt`) and a
document-signing certificate it issued (`signing.key`, `signing.crt`).
"""

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from django.conf import settings

from auditreg.errors import DomainError
from auditreg.ledger.keys import make_private_dir, write_file
from auditreg.proofs.pdf import load_certificates

KEY_FILE = "signing.key"
CERT_FILE = "signing.crt"
CA_KEY_FILE = "ca.key"
CA_CERT_FILE = "ca.crt"

# Adobe and Microsoft both recognise these purposes for signing documents.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")
CA_YEARS = 10
SIGNER_YEARS = 3


@dataclass(frozen=True)
class SigningFiles:
    key: Path
    cert: Path
    chain: tuple[Path, ...]  # CA certificates embedded in each signature


def signing_dir() -> Path:
    configured = getattr(settings, "AUDITREG_SIGNING_DIR", None)
    return Path(configured) if configured else Path(settings.AUDITREG_KEYS_DIR) / "signing"


def signing_files() -> SigningFiles:
    """The configured files: the AUDITREG_SIGNING_* variables, else the signing folder."""
    key, cert, chain = (
        _configured(name)
        for name in ("AUDITREG_SIGNING_KEY", "AUDITREG_SIGNING_CERT", "AUDITREG_SIGNING_CHAIN")
    )
    if key or cert:
        if not (key and cert):
            raise DomainError("set both AUDITREG_SIGNING_KEY and AUDITREG_SIGNING_CERT, or neither")
        return SigningFiles(Path(key), Path(cert), (Path(chain),) if chain else ())
    directory = signing_dir()
    files = SigningFiles(directory / KEY_FILE, directory / CERT_FILE, (directory / CA_CERT_FILE,))
    if not files.key.exists():
        raise DomainError(
            f"no document-signing key at {files.key}: run `manage.py init_signing_cert` "
            "or set AUDITREG_SIGNING_KEY and AUDITREG_SIGNING_CERT"
        )
    return files


def trust_roots() -> list[x509.Certificate]:
    """The roots a verifier here trusts: the self-signed certificates of the configured
    chain (AUDITREG_SIGNING_CHAIN, else the development CA), if any."""
    chain = _configured("AUDITREG_SIGNING_CHAIN")
    path = Path(chain) if chain else signing_dir() / CA_CERT_FILE
    if not chain and not path.exists():
        return []
    return [cert for cert in read_certificates(path) if cert.issuer == cert.subject]


def _configured(name: str) -> str:
    return str(getattr(settings, name, None) or os.environ.get(name, ""))


def read_certificates(*paths: Path) -> list[x509.Certificate]:
    """Every certificate in the files, PEM (one or more) or DER."""
    certificates = []
    for path in paths:
        try:
            certificates += load_certificates(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise DomainError(f"cannot read certificates from {path}: {exc}") from None
    return certificates


# --- A development CA ------------------------------------------------------------------------


def create_dev_certificates(
    directory: Path, *, organisation: str, common_name: str, rotate: bool = False
) -> bool:
    """Write a development CA (kept across rotations) and a document-signing certificate
    issued by it into `directory`. Returns whether anything was created: existing files are
    kept unless `rotate`, which replaces the signing key and certificate (not the CA)."""
    if (directory / KEY_FILE).exists() and not rotate:
        return False
    make_private_dir(directory)
    if (directory / CA_KEY_FILE).exists():
        ca_key = _read_key(directory / CA_KEY_FILE)
        ca_cert = read_certificates(directory / CA_CERT_FILE)[0]
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, organisation)
        _write_private(directory / CA_KEY_FILE, ca_key)
        _write_public(directory / CA_CERT_FILE, ca_cert)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _signer_certificate(key, ca_key, ca_cert, organisation, common_name)
    _write_private(directory / KEY_FILE, key)
    _write_public(directory / CERT_FILE, cert)
    return True


def _ca_certificate(key: ec.EllipticCurvePrivateKey, organisation: str) -> x509.Certificate:
    name = _name(organisation, f"{organisation} development document CA")
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _signer_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    organisation: str,
    common_name: str,
) -> x509.Certificate:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(_name(organisation, common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(
            min(now + datetime.timedelta(days=365 * SIGNER_YEARS), ca_cert.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,  # non-repudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _now() -> datetime.datetime:
    # A minute back, so a verifier whose clock is slightly behind still accepts it.
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)


def _read_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise DomainError(f"{path} is not an ECDSA key")
    return key


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_file(path, pem, mode=0o600)


def _write_public(path: Path, cert: x509.Certificate) -> None:
    write_file(path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
