"""A throwaway certificate authority for the registry lab (made with ``cryptography``, no openssl calls).

``make_ca(folder)`` creates a self-signed CA (EC P-256); ``ca.issue(names, folder)`` writes a server
certificate for DNS names and IP addresses (``["127.0.0.1", "localhost"]``) signed by it;
``certs_d(folder, host, ca)`` lays out a Docker-style ``certs.d`` folder (``<folder>/<host>/ca.crt``),
the way ``/etc/docker/certs.d`` trusts a registry's CA. Keys are written unencrypted, mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
from dataclasses import dataclass, field
from typing import Iterable, List

VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Tls:
    """A server certificate and its key (PEM paths), and the CA certificate that signed it."""

    cert: str
    key: str
    ca: str


@dataclass
class Ca:
    cert: str  # PEM path of the CA certificate (what a client trusts)
    key: str
    _key: object = field(repr=False)
    _cert: object = field(repr=False)

    def issue(self, names: Iterable[str], folder: str) -> Tls:
        """A server certificate for `names` (DNS names and IP addresses, the first is the subject CN)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        names = list(names)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        os.makedirs(folder, exist_ok=True)
        stem = os.path.join(folder, _file_stem(names[0]))
        return Tls(cert=_write_cert(cert, stem + ".crt"), key=_write_key(key, stem + ".key"), ca=self.cert)


def make_ca(folder: str, name: str = "runner-doctor lab CA") -> Ca:
    """A self-signed CA certificate and key written to `folder` (ca.crt, ca.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    os.makedirs(folder, exist_ok=True)
    return Ca(cert=_write_cert(cert, os.path.join(folder, "ca.crt")),
              key=_write_key(key, os.path.join(folder, "ca.key")), _key=key, _cert=cert)


def certs_d(folder: str, host: str, ca: Ca) -> str:
    """A Docker-style certs.d folder trusting `ca` for `host` ("127.0.0.1:PORT"): returns `folder`."""
    target = os.path.join(folder, host)
    os.makedirs(target, exist_ok=True)
    shutil.copyfile(ca.cert, os.path.join(target, "ca.crt"))
    return folder


def _general_names(names: List[str]) -> list:
    from cryptography import x509

    out = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _file_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in name)


def _write_cert(cert, path: str) -> str:
    from cryptography.hazmat.primitives import serialization

    with open(path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _write_key(key, path: str) -> str:
    from cryptography.hazmat.primitives import serialization

    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path
