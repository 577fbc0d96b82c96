"""HTTPS served by `crowdloop serve` itself (docs/deployment.md "TLS").

Either the files a user gives (settings tls_cert and tls_key), or with tls=self-signed a certificate
crowdloop makes for local use: an EC P-256 key and a self-signed certificate naming localhost, 127.0.0.1,
::1, the listening host and public_host, kept in <data_dir>/tls (the key 0600). It is made once and reused,
so a browser exception or a trust store entry (AWS_CA_BUNDLE for boto3) keeps working across restarts; it
is made again when it is within RENEW_DAYS of its end or does not name every address in use.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crowdloop.config import Settings

FOLDER = "tls"
VALID_DAYS = 397  # browsers refuse longer-lived server certificates
RENEW_DAYS = 30
_UNSPECIFIED = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    self_signed: bool


def files_for(settings: Settings, now: datetime | None = None) -> TlsFiles | None:
    """The certificate and key `serve` uses, made first with tls=self-signed; None: plain HTTP."""
    if settings.tls_cert:
        cert, key = Path(settings.tls_cert).expanduser(), Path(settings.tls_key).expanduser()
        for path, name in ((cert, "tls_cert"), (key, "tls_key")):
            if not path.is_file():
                raise ValueError(f"setting {name}: {path} is not a readable file")
        return TlsFiles(cert, key, self_signed=False)
    if settings.tls == "self-signed":
        return ensure_self_signed(settings.data_path / FOLDER, names_for(settings), now or datetime.now(UTC))
    return None


def names_for(settings: Settings) -> tuple[str, ...]:
    """The host names and addresses a self-signed certificate must name."""
    names = ["localhost", "127.0.0.1", "::1"]
    if settings.host not in _UNSPECIFIED:
        names.append(settings.host)
    if settings.public_host:
        names.append(_host_part(settings.public_host))
    return tuple(dict.fromkeys(name.lower() for name in names))


def _host_part(host_port: str) -> str:
    if host_port.startswith("["):  # [::1]:8443
        return host_port[1 : host_port.index("]")]
    return host_port.rsplit(":", 1)[0] if host_port.count(":") == 1 else host_port


def ensure_self_signed(folder: Path, names: tuple[str, ...], now: datetime) -> TlsFiles:
    """The kept certificate when it is still good for these names, else a new one."""
    files = TlsFiles(folder / "cert.pem", folder / "key.pem", self_signed=True)
    if files.cert.is_file() and files.key.is_file() and _still_good(files.cert, names, now):
        return files
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crowdloop local")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)  # its own trust anchor
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(files.key, key_pem, 0o600)
    _write(files.cert, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return files


def _still_good(cert_path: Path, names: tuple[str, ...], now: datetime) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        named = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    listed = {str(value).lower() for value in named.get_values_for_type(x509.DNSName)}
    listed |= {str(value) for value in named.get_values_for_type(x509.IPAddress)}
    wanted = {str(ipaddress.ip_address(name)) if _is_address(name) else name for name in names}
    return wanted <= listed and certificate.not_valid_after_utc - timedelta(days=RENEW_DAYS) > now


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _general_name(name: str) -> x509.GeneralName:
    if _is_address(name):
        return x509.IPAddress(ipaddress.ip_address(name))
    return x509.DNSName(name)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write-then-rename, so a crash never leaves half a key or certificate."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
