"""The lab's certificate authority: real TLS for every emulated HTTPS/WinRM endpoint."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def new_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def self_signed(common_name, key=None, days=365, ca=False):
    """A self-signed certificate (an app registration's certificate, or a CA)."""
    key = key or new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days)))
    if ca:
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True))
    return key, builder.sign(key, hashes.SHA256())


class LabPKI:
    """A CA under ``DIR/pki`` that issues server certificates for 127.0.0.1/localhost."""

    def __init__(self, directory, name="mxhero-unroute lab CA"):
        self.dir = Path(directory)
        self.ca_path = self.dir / "ca.pem"
        self.ca_key_path = self.dir / "ca.key"
        if self.ca_path.exists():
            self.ca_key = serialization.load_pem_private_key(self.ca_key_path.read_bytes(), None)
            self.ca_cert = x509.load_pem_x509_certificate(self.ca_path.read_bytes())
        else:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.ca_key, self.ca_cert = self_signed(name, ca=True, days=30)
            self.ca_key_path.write_bytes(key_pem(self.ca_key))
            self.ca_key_path.chmod(0o600)
            self.ca_path.write_bytes(cert_pem(self.ca_cert))

    def issue(self, name, sans=("localhost", "127.0.0.1")):
        """Server certificate and key files for ``name`` (written once, reused after)."""
        cert_path = self.dir / ("%s.pem" % name)
        key_path = self.dir / ("%s.key" % name)
        if cert_path.exists() and key_path.exists():
            return cert_path, key_path
        key = new_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        alt = []
        for san in sans:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                alt.append(x509.DNSName(san))
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])]))
                .issuer_name(self.ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName(alt), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        key_path.write_bytes(key_pem(key))
        key_path.chmod(0o600)
        cert_path.write_bytes(cert_pem(cert))
        return cert_path, key_path

    def server_context(self, name, sans=("localhost", "127.0.0.1")):
        cert_path, key_path = self.issue(name, sans)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert_path), str(key_path))
        return ctx
