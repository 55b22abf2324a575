# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only code that speaks to Exchange Online: msal app-only tokens and the admin ``InvokeCommand`` endpoint.

Microsoft does not document ``/adminapi/beta/{tenant}/InvokeCommand`` as a
public contract (it is what the ExchangeOnlineManagement v3 module calls), so
every detail of it - URL, headers, body, paging, error shapes - lives in this
one class. It knows nothing of Ansible; it raises :class:`ExoError` and
subclasses, which the engine turns into one-line UnrouteErrors.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import json
import time

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, but sanity imports this file
    from urlparse import urlsplit  # type: ignore

from ansible_collections.mxhero.unroute.plugins.module_utils._exo import partner as _partner
from ansible_collections.mxhero.unroute.plugins.module_utils import _budget
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import (
    RetryExhausted, RetryPolicy, TransientError)

try:
    import msal
    import requests
    HAS_DEPS = True
    IMPORT_ERROR = None
except ImportError as _err:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_DEPS = False
    IMPORT_ERROR = _err

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_API_ENDPOINT = "https://outlook.office365.com"
# The system mailbox Exchange routes app-only admin calls through.
_ANCHOR = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@%s"
_THROTTLE_TEXT = "concurrent requests"
_TEST_MODE_NOUNS = ("OutboundConnector", "InboundConnector")
_MICROSOFT_AUTHORITIES = ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
                          "login.partner.microsoftonline.cn", "login.windows.net", "login.microsoft.com")


class ExoError(Exception):
    """A refusal or failure from Exchange Online or Entra ID (text already free of secrets)."""

    def __init__(self, message, status=None, code=None, transient=False):
        super(ExoError, self).__init__(message)
        self.status = status
        self.code = code
        self.transient = transient


class ExoNotFound(ExoError):
    pass


class ExoAuthError(ExoError):
    pass


class ExoUnknownOutcome(ExoError):
    """A write whose outcome is unknown (server error or timeout after sending): re-read before retrying."""


class ExoClient(object):
    """One tenant, one app registration. ``invoke`` runs a cmdlet and returns every object of every page."""

    def __init__(self, tenant_id, client_id, certificate_path=None, certificate_password=None, client_secret=None,
                 authority_host=None, api_endpoint=None, ca_path=None, validate_certs=True, timeout=60,
                 retry=None, page_size=1000):
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority_host = (authority_host or DEFAULT_AUTHORITY_HOST).rstrip("/")
        self.api_endpoint = (api_endpoint or DEFAULT_API_ENDPOINT).rstrip("/")
        self.timeout = timeout
        self.page_size = page_size
        self.retry = retry or RetryPolicy(attempts=5, base=0.5, cap=8.0, max_total_wait=60.0)
        self._secrets = [s for s in (client_secret, certificate_password) if s]
        self._credential = self._load_credential(certificate_path, certificate_password, client_secret)
        if not validate_certs:
            verify = False
        else:
            verify = ca_path or True
        self._session = requests.Session()
        # An explicit per-request ``verify`` wins over REQUESTS_CA_BUNDLE, which would otherwise
        # silently replace a session-level CA path (requests merges environment settings first).
        self._session.request = functools.partial(self._session.request, verify=verify, timeout=timeout)
        self._app = None
        self.budget = None
        self._token = None
        self.token_requests = 0
        self.calls = 0
        self.last_warnings = []

    # -- credentials -----------------------------------------------------------
    def _load_credential(self, path, password, secret):
        if not path:
            if not secret:
                raise ExoAuthError("neither certificate_path nor client_secret was given")
            return secret
        if not HAS_CRYPTOGRAPHY:
            raise ExoAuthError("the Python library 'cryptography' is needed to read certificate_path")
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except (IOError, OSError) as err:
            raise ExoAuthError("cannot read certificate_path %s: %s" % (path, err.strerror or err))
        pwd = password.encode() if password else None
        try:
            if b"-----BEGIN" in data:
                key = serialization.load_pem_private_key(_pem_block(data, b"PRIVATE KEY"), pwd)
                cert_block = _pem_block(data, b"CERTIFICATE")
                if not cert_block:
                    raise ExoAuthError("certificate_path %s holds no certificate next to the private key; both are "
                                       "needed (the thumbprint is computed from the certificate)" % path)
                cert = x509.load_pem_x509_certificate(cert_block)
            else:
                key, cert, _chain = pkcs12.load_key_and_certificates(data, pwd)
                if key is None or cert is None:
                    raise ExoAuthError("the PFX file %s must hold both the private key and the certificate" % path)
        except (ValueError, TypeError) as err:
            raise ExoAuthError("cannot load the key in certificate_path %s (%s); check certificate_password"
                               % (path, _first_line(err)))
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()  # nosec - x5t is SHA-1
        return {"private_key": pem, "thumbprint": thumbprint}

    def _msal_app(self):
        if self._app is None:
            known = urlsplit(self.authority_host).netloc.lower() in _MICROSOFT_AUTHORITIES
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, authority="%s/%s" % (self.authority_host, self.tenant_id),
                    client_credential=self._credential, http_client=self._session,
                    # A host outside Microsoft's known clouds (the lab, a private proxy) cannot be
                    # validated through login.microsoftonline.com's instance discovery.
                    instance_discovery=None if known else False, validate_authority=known)
            except ValueError:
                # msal's own text only restates the URL and lists authority formats; the cause is the tenant.
                raise ExoAuthError("%s refused tenant discovery for tenant %s (an unknown tenant, or an authority "
                                   "of another cloud)" % (self.authority_host, self.tenant_id), code="invalid_tenant")
            except requests.RequestException as err:
                raise ExoAuthError("cannot reach the authority %s: %s" % (self.authority_host,
                                                                          self._clean(_reason(err))))
        return self._app

    def _cache_key(self):
        return (self.authority_host, str(self.tenant_id).lower(), self.client_id,
                _partner.credential_id(self._credential), self.api_endpoint)

    def _access_token(self, fresh=False):
        if self._token and not fresh:
            return self._token
        # One token per tenant, app and credential for the whole process (partner mode: many domains, one tenant).
        key = self._cache_key()
        if fresh:
            _partner.forget_token(key)
        else:
            cached = _partner.cached_token(key)
            if cached:
                self._token = cached
                self._secrets.append(cached)
                return cached
        app = self._msal_app()
        if fresh:
            app.remove_tokens_for_client()
        self.token_requests += 1
        try:
            reply = app.acquire_token_for_client(scopes=["%s/.default" % self.api_endpoint])
        except requests.RequestException as err:
            raise ExoAuthError("cannot reach the token endpoint at %s: %s"
                               % (self.authority_host, self._clean(_reason(err))))
        except ValueError as err:
            raise ExoAuthError("cannot sign the client assertion: %s" % self._clean(_first_line(err)))
        if "access_token" not in reply:
            text = reply.get("error_description") or reply.get("error") or "no access token in the reply"
            raise ExoAuthError("the token endpoint refused app %s: %s"
                               % (self.client_id, self._clean(_first_line(text))), code=reply.get("error"))
        self._token = reply["access_token"]
        self._secrets.append(self._token)
        _partner.store_token(key, self._token, reply.get("expires_in"))
        return self._token

    # -- the endpoint ----------------------------------------------------------
    @property
    def url(self):
        return "%s/adminapi/beta/%s/InvokeCommand" % (self.api_endpoint, self.tenant_id)

    def invoke(self, cmdlet, parameters=None, write=False):
        """Run ``cmdlet``; return all objects across all pages, or raise. Never a partial list."""
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": dict(parameters or {})}}
        items = []
        # What the cmdlet warned (PowerShell's WARNING: lines), for the caller to read after a write.
        self.last_warnings = []
        url = self.url
        pages = 0
        while url:
            try:
                reply = self.retry.call(self._post, url, body, write)
            except RetryExhausted as err:
                last = err.last
                if getattr(last, "unknown_outcome", False):
                    raise ExoUnknownOutcome("%s: outcome unknown (%s)" % (cmdlet, last), transient=True)
                raise ExoError("%s failed: %s" % (cmdlet, err), transient=True)
            pages += 1
            items.extend(reply.get("value") or [])
            warned = reply.get("@adminapi.warnings") or []
            self.last_warnings.extend(str(w) for w in (warned if isinstance(warned, list) else [warned]))
            url = reply.get("@odata.nextLink")
            if url and not self._same_origin(url):
                raise ExoError("%s: the reply's @odata.nextLink points at another host (%s); refusing to follow it "
                               "and refusing to return a partial list" % (cmdlet, urlsplit(url).netloc))
        return items

    def _same_origin(self, url):
        mine, theirs = urlsplit(self.api_endpoint), urlsplit(url)
        return (mine.scheme, mine.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())

    def _headers(self, token):
        return {"Authorization": "Bearer %s" % token, "Content-Type": "application/json",
                "Accept": "application/json", "X-ResponseFormat": "json",
                "X-AnchorMailbox": _ANCHOR % self.tenant_id,
                "Prefer": "odata.maxpagesize=%d" % self.page_size}

    def spending(self):
        """The tenant's Budget (_budget.py): Exchange Online throttles per tenant, whichever app or process."""
        if self.budget is None:
            self.budget = _budget.budget_for("exo", "%s %s" % (self.api_endpoint, str(self.tenant_id).lower()),
                                             label=str(self.tenant_id).lower())
        return self.budget

    def _post(self, url, body, write):
        """One HTTP exchange; TransientError for what the retry policy may repeat."""
        token = self._access_token()
        for attempt in (1, 2):
            self.spending().acquire(write=write)
            self.calls += 1
            try:
                resp = self._session.post(url, json=body, headers=self._headers(token))
            except requests.exceptions.ConnectTimeout as err:
                raise TransientError("cannot connect to %s: %s" % (self.api_endpoint, _reason(err)))
            except requests.exceptions.SSLError as err:
                raise ExoError("TLS verification of %s failed: %s; check ca_path" % (self.api_endpoint,
                                                                                     _reason(err)))
            except requests.exceptions.ConnectionError as err:
                # Refused before anything was sent is safe to repeat; a dropped connection mid-write is not.
                raise TransientError("connection to %s failed: %s" % (self.api_endpoint, _reason(err)),
                                     unknown_outcome=write and "refused" not in str(err).lower())
            except requests.exceptions.Timeout:
                raise TransientError("%s did not answer in %gs" % (self.api_endpoint, self.timeout),
                                     unknown_outcome=write)
            if resp.status_code == 401 and attempt == 1 and "expired" in _diagnostics(resp).lower():
                token = self._access_token(fresh=True)
                continue
            return self._read(resp, body, write)
        return self._read(resp, body, write)

    def _read(self, resp, body, write):
        cmdlet = body["CmdletInput"]["CmdletName"]
        status = resp.status_code
        text = resp.text or ""
        if 200 <= status < 300:
            try:
                data = resp.json()
            except ValueError:
                raise ExoError("%s: the reply is not JSON (HTTP %d)" % (cmdlet, status), status=status)
            if not isinstance(data, dict) or not isinstance(data.get("value", []), list):
                raise ExoError("%s: unexpected reply shape (no 'value' list)" % cmdlet, status=status)
            return data
        retry_after = _retry_after(resp.headers.get("Retry-After"))
        if status in (429, 503) or _THROTTLE_TEXT in text.lower():
            throttled = status == 429 or _THROTTLE_TEXT in text.lower()
            if throttled:
                # The tenant is over its limit: every process spending it slows down, not only this call.
                self.spending().penalise(retry_after)
            raise TransientError("%s: HTTP %d %s" % (cmdlet, status, self._clean(_error_text(resp))),
                                 retry_after=retry_after, throttled=throttled)
        if status in (500, 502, 504):
            raise TransientError("%s: HTTP %d %s" % (cmdlet, status, self._clean(_error_text(resp))),
                                 retry_after=retry_after, unknown_outcome=write)
        message = self._clean(_error_text(resp))
        if status == 401:
            raise ExoAuthError("%s: HTTP 401 the access token was refused: %s" % (cmdlet, message), status=401)
        if status == 403:
            raise ExoAuthError("%s: HTTP 403 forbidden: %s" % (cmdlet, message), status=403)
        code = _error_code(resp)
        if status == 404 or code == "NotFound":
            raise ExoNotFound("%s: %s" % (cmdlet, message), status=status, code=code)
        raise ExoError("%s: HTTP %d %s: %s" % (cmdlet, status, code or "", message), status=status, code=code)

    def secret_values(self):
        """Everything that must never appear in output (secrets, passwords, tokens)."""
        return list(self._secrets)

    def token_claims(self):
        """The claims of this app's access token for the tenant (acquired as every call acquires it), read and not
        verified: the token endpoint just issued it over TLS, and only what it grants is wanted (``roles``)."""
        token = self._access_token()
        try:
            part = token.split(".")[1]
            return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("utf-8"))
        except (IndexError, ValueError, UnicodeDecodeError):
            # Not a JWT (an opaque token): its grants cannot be read, only tried.
            return {}

    def _clean(self, text):
        out = str(text)
        for secret in self._secrets:
            if secret and len(secret) >= 4:
                out = out.replace(secret, "********")
        return out

    # -- cmdlets the engine uses ----------------------------------------------
    def _read_params(self, noun):
        # Without it, Get-OutboundConnector / Get-InboundConnector leave test-mode connectors out.
        if noun in _TEST_MODE_NOUNS:
            return {"IncludeTestModeConnectors": True}
        return {}

    def _get(self, noun, parameters):
        extra = self._read_params(noun)
        try:
            return self.invoke("Get-%s" % noun, dict(parameters, **extra))
        except ExoError as err:
            # Should a cmdlet not know the parameter, reading without it is still better than failing.
            if extra and err.status == 400 and "IncludeTestModeConnectors" in str(err):
                return self.invoke("Get-%s" % noun, parameters)
            raise

    def list(self, noun):
        return self._get(noun, {})

    def get(self, noun, identity):
        """One object by identity, or None when Exchange says it does not exist."""
        try:
            found = self._get(noun, {"Identity": identity})
        except ExoNotFound:
            return None
        return found[0] if found else None

    def disable_rule(self, identity):
        self.invoke("Disable-TransportRule", {"Identity": identity, "Confirm": False}, write=True)

    def remove(self, noun, identity):
        self.invoke("Remove-%s" % noun, {"Identity": identity, "Confirm": False}, write=True)

    def remove_values(self, noun, identity, prop, values):
        """Take ``values`` out of a multi-valued property (PowerShell's ``@{Remove=...}``), leaving the rest."""
        self.invoke("Set-%s" % noun, {"Identity": identity, prop: {"Remove": list(values)}, "Confirm": False},
                    write=True)

    def enable_rule(self, identity):
        self.invoke("Enable-TransportRule", {"Identity": identity, "Confirm": False}, write=True)

    def add_values(self, noun, identity, prop, values):
        """Put ``values`` into a multi-valued property (PowerShell's ``@{Add=...}``), leaving the rest."""
        self.invoke("Set-%s" % noun, {"Identity": identity, prop: {"Add": list(values)}, "Confirm": False},
                    write=True)

    def set_enabled(self, noun, identity, enabled):
        self.invoke("Set-%s" % noun, {"Identity": identity, "Enabled": bool(enabled), "Confirm": False},
                    write=True)


def _pem_block(data, label):
    """The first PEM block whose label ends with ``label`` (PRIVATE KEY covers RSA/EC/ENCRYPTED)."""
    for chunk in data.split(b"-----BEGIN ")[1:]:
        head = chunk.split(b"-----", 1)[0]
        if head.endswith(label):
            end = b"-----END %s-----" % head
            return b"-----BEGIN " + chunk.split(end, 1)[0] + end + b"\n"
    return None


def _retry_after(value):
    if not value:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _diagnostics(resp):
    return "%s %s" % (resp.headers.get("x-ms-diagnostics") or "", resp.headers.get("WWW-Authenticate") or "")


def _error_code(resp):
    try:
        return (resp.json().get("error") or {}).get("code")
    except (ValueError, AttributeError):
        return None


def _error_text(resp):
    """The most useful sentence of an error reply: a cmdlet detail, the diagnostics header, or the body."""
    try:
        error = resp.json().get("error") or {}
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and error:
        for detail in error.get("details") or []:
            parts = str(detail.get("message") or "").split("|")
            if parts and parts[-1]:
                return parts[-1].strip()
        if error.get("message"):
            return str(error["message"])
    diag = resp.headers.get("x-ms-diagnostics")
    if diag:
        for part in diag.split(";"):
            if part.strip().startswith("reason="):
                return part.split("=", 1)[1].strip().strip('"')
        return diag
    return _first_line(resp.text) or "(empty reply)"


def _first_line(value):
    text = str(value or "").strip()
    return text.splitlines()[0][:300] if text else ""


def _reason(err):
    text = str(err)
    for marker in ("SSLError(", "NewConnectionError(", "Caused by "):
        if marker in text:
            return _first_line(text[text.index(marker):])
    return _first_line(text)
