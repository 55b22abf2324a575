"""Identity side of the Exchange Online emulator: app registrations, client assertions, access tokens.

Real crypto throughout: client assertions are verified against the registered
certificate (RS256 or PS256, ``x5t`` / ``x5t#S256``), and access tokens are JWTs
signed with a key that only the lab holds, so a forged or expired token fails
the way it fails at Microsoft.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs12

from ..pki import cert_pem, key_pem, new_key, self_signed

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
EXCHANGE_ROLE = "Exchange.ManageAsApp"
# Clock skew Entra tolerates on assertion times (seconds).
SKEW = 300


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    text = str(text)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _thumb(value):
    try:
        return b64url_decode(str(value).rstrip("="))
    except (ValueError, TypeError):
        return b""


class AuthError(Exception):
    """An Entra-style refusal: HTTP status, OAuth error, AADSTS code and text."""

    def __init__(self, status, error, code, text):
        super().__init__(text)
        self.status = status
        self.error = error
        self.code = code
        self.text = text

    def body(self, trace_id=None):
        return {"error": self.error, "error_description": "AADSTS%d: %s" % (self.code, self.text),
                "error_codes": [self.code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                "trace_id": trace_id or str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}


class AppRegistration:
    """One app registration in one tenant: client id, certificate (PEM + PFX) and a client secret.

    Files are written under ``directory`` with mode 0600; their paths go into
    the manifest and the inventory, never the secrets themselves.
    """

    def __init__(self, directory, domain, client_id, display_name="mxhero-unroute"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.client_id = client_id
        key, cert = self_signed("%s %s" % (display_name, domain), days=30)
        self.cert = cert
        self.der = cert.public_bytes(serialization.Encoding.DER)
        self.sha1 = hashlib.sha1(self.der).digest()  # noqa: S324 - x5t is SHA-1 by definition
        self.sha256 = hashlib.sha256(self.der).digest()
        self.secret = secrets.token_urlsafe(30)
        self.pfx_password = secrets.token_urlsafe(12)
        self.pem_path = self._write("app.pem", key_pem(key) + cert_pem(cert))
        self.cert_path = self._write("app.crt", cert_pem(cert), mode=0o644)
        self.pfx_path = self._write("app.pfx", pkcs12.serialize_key_and_certificates(
            b"mxhero-unroute", key, cert, None,
            serialization.BestAvailableEncryption(self.pfx_password.encode())))
        self.pfx_password_path = self._write("app.pfx.password", self.pfx_password.encode())
        self.secret_path = self._write("client_secret", self.secret.encode())
        # Set from the estate's app section: credentials past their end date, a missing API permission.
        self.secret_expired = False
        self.certificate_expired = False
        self.manage_as_app = True

    def _write(self, name, data, mode=0o600):
        path = self.dir / name
        path.write_bytes(data)
        path.chmod(mode)
        return path

    @property
    def thumbprint(self):
        return self.sha1.hex().upper()

    def manifest(self):
        return {"client_id": self.client_id, "certificate_path": str(self.pem_path),
                "certificate_crt": str(self.cert_path), "thumbprint": self.thumbprint,
                "pfx_path": str(self.pfx_path), "pfx_password_file": str(self.pfx_password_path),
                "client_secret_file": str(self.secret_path)}

    # -- credentials -----------------------------------------------------------
    def check_secret(self, value):
        if not hmac.compare_digest(str(value), self.secret):
            raise AuthError(401, "invalid_client", 7000215,
                            "Invalid client secret provided. Ensure the secret being sent in the request is "
                            "the client secret value, not the client secret ID, for a secret added to app '%s'."
                            % self.client_id)
        if self.secret_expired:
            raise AuthError(401, "invalid_client", 7000222,
                            "The provided client secret keys for app '%s' are expired. Visit the Azure portal to "
                            "create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
                            "certificate credentials for added security: https://aka.ms/certCreds." % self.client_id)

    def check_assertion(self, assertion, audiences):
        """Verify a client assertion JWT (RFC 7523) as Entra does; raise AuthError on any flaw."""
        try:
            head_b64, body_b64, sig_b64 = str(assertion).split(".")
            header = json.loads(b64url_decode(head_b64))
            claims = json.loads(b64url_decode(body_b64))
            signature = b64url_decode(sig_b64)
        except (ValueError, TypeError):
            raise AuthError(400, "invalid_client", 50027, "JWT token is invalid or malformed.")
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            raise AuthError(401, "invalid_client", 5002738,
                            "Invalid JWT token. '%s' is not a supported signature algorithm." % alg)
        x5t, x5t256 = header.get("x5t"), header.get("x5t#S256")
        if not (x5t or x5t256):
            raise AuthError(401, "invalid_client", 700027,
                            "Client assertion contains an invalid signature. [Reason - The key was not found.]")
        # Compare decoded bytes: msal pads its base64url thumbprints, other clients do not.
        if (x5t and _thumb(x5t) != self.sha1) or (x5t256 and _thumb(x5t256) != self.sha256):
            raise AuthError(401, "invalid_client", 700027,
                            "The certificate with identifier used to sign the client assertion is not registered "
                            "on application. [Reason - The key was not found., Thumbprint of key used by client: "
                            "'%s']" % (x5t or x5t256))
        signed = ("%s.%s" % (head_b64, body_b64)).encode()
        if alg == "RS256":
            pad = padding.PKCS1v15()
        else:
            pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        try:
            self.cert.public_key().verify(signature, signed, pad, hashes.SHA256())
        except InvalidSignature:
            raise AuthError(401, "invalid_client", 700027,
                            "Client assertion failed signature validation. [Reason - The key was not found.]")
        if self.certificate_expired:
            raise AuthError(401, "invalid_client", 700027,
                            "Client assertion contains an invalid signature. [Reason - The key used is expired., "
                            "Thumbprint of key used by client: '%s']" % self.thumbprint)
        now = time.time()
        if claims.get("aud") not in audiences:
            raise AuthError(401, "invalid_client", 700212,
                            "No matching federated identity record found for presented assertion audience '%s'."
                            % claims.get("aud"))
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            raise AuthError(401, "invalid_client", 700023,
                            "Client assertion audience claim does not match Realm issuer, or iss/sub is not the "
                            "client id.")
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp + SKEW < now or claims.get("nbf", 0) - SKEW > now:
            raise AuthError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        # Entra accepts an assertion again while it is valid (msal caches and re-sends it), so a
        # repeated jti is not refused; a missing one is.
        if not claims.get("jti"):
            raise AuthError(400, "invalid_client", 50027, "JWT token is invalid: the jti claim is missing.")


class TokenSigner:
    """Signs and checks the lab's access tokens (the role Entra's signing keys play)."""

    def __init__(self, issuer_base):
        self.key = new_key()
        self.issuer_base = issuer_base

    def issue(self, tenant_id, client_id, audience, roles, lifetime=3599):
        now = int(time.time())
        claims = {"aud": audience, "iss": "https://sts.windows.net/%s/" % tenant_id, "iat": now, "nbf": now,
                  "exp": now + lifetime, "appid": client_id, "tid": tenant_id, "roles": list(roles),
                  "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)), "ver": "1.0"}
        header = {"typ": "JWT", "alg": "RS256", "kid": "lab"}
        signing_input = "%s.%s" % (b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()))
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return "%s.%s" % (signing_input, b64url(sig))

    def check(self, token):
        """Claims of a valid token; ValueError('expired') / ValueError('invalid') otherwise."""
        try:
            head, body, sig = str(token).split(".")
            self.key.public_key().verify(b64url_decode(sig), ("%s.%s" % (head, body)).encode(),
                                         padding.PKCS1v15(), hashes.SHA256())
            claims = json.loads(b64url_decode(body))
        except (ValueError, TypeError, InvalidSignature):
            raise ValueError("invalid")
        if claims.get("exp", 0) < time.time():
            raise ValueError("expired")
        return claims
