"""Google's OAuth 2.0 token endpoint as the lab needs it: the JWT-bearer grant of a
service account with domain-wide delegation (RFC 7523), and the refresh-token
grant of an authorized-user file. Signatures are verified with real RS256.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


class OAuthError(Exception):
    """An error body as Google's token endpoint returns it: {"error", "error_description"}."""

    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self):
        return {"error": self.error, "error_description": self.description}


def _b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jwt(assertion, public_key):
    """Header and claims of an RS256 JWT whose signature ``public_key`` verifies."""
    try:
        head_b64, claims_b64, sig_b64 = assertion.split(".")
        header = json.loads(_b64decode(head_b64))
        claims = json.loads(_b64decode(claims_b64))
        signature = _b64decode(sig_b64)
    except (ValueError, TypeError):
        raise OAuthError("invalid_grant", "Invalid JWT: malformed assertion.")
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "Invalid JWT: unsupported algorithm %s." % header.get("alg"))
    try:
        public_key.verify(signature, ("%s.%s" % (head_b64, claims_b64)).encode(), padding.PKCS1v15(),
                          hashes.SHA256())
    except InvalidSignature:
        raise OAuthError("invalid_grant", "Invalid JWT Signature.")
    return header, claims


class TokenStore:
    """Access tokens issued by the lab: token -> who, which customer, which scopes, until when."""

    def __init__(self):
        self.tokens = {}

    def issue(self, email, customer_id, scopes):
        token = "ya29.lab-" + secrets.token_urlsafe(32)
        self.tokens[token] = {"email": email, "customer": customer_id, "scopes": set(scopes),
                              "expires": time.time() + TOKEN_LIFETIME}
        return {"access_token": token, "expires_in": TOKEN_LIFETIME - 1, "token_type": "Bearer",
                "scope": " ".join(sorted(scopes))}

    def lookup(self, header):
        """The grant behind an ``Authorization: Bearer`` header, or None (missing/unknown/expired)."""
        if not header or not header.startswith("Bearer "):
            return None
        grant = self.tokens.get(header[len("Bearer "):].strip())
        if grant is None or grant["expires"] < time.time():
            return None
        return grant


def check_claims(claims, service_account, token_uri, allowed_scopes, now=None):
    """The JWT-bearer grant rules Google applies; returns (subject, scopes)."""
    now = now or time.time()
    if claims.get("iss") != service_account["client_email"]:
        raise OAuthError("invalid_grant", "Invalid JWT: issuer is not a known service account.")
    # google-auth signs for Google's canonical token audience whatever token_uri says; both are accepted.
    if claims.get("aud") not in (token_uri, GOOGLE_TOKEN_AUDIENCE):
        raise OAuthError("invalid_grant", "Invalid JWT: audience %r is not this token endpoint." % claims.get("aud"))
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)) or exp <= iat \
            or exp - iat > MAX_ASSERTION_LIFETIME or iat > now + CLOCK_SKEW or exp < now - CLOCK_SKEW:
        raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                                          "reasonable timeframe. Check your iat and exp values in the JWT claim.")
    scopes = [s for s in str(claims.get("scope") or "").split() if s]
    if not scopes:
        raise OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    if not set(scopes) <= set(allowed_scopes):
        # Domain-wide delegation grants scopes per client ID; anything else is refused this way.
        raise OAuthError("unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
                                                "method, or client not authorized for any of the scopes requested.",
                         status=401)
    subject = claims.get("sub")
    if not subject:
        # No subject: the service account acts as itself, which no Workspace customer knows as an admin.
        return None, scopes
    return subject, scopes
