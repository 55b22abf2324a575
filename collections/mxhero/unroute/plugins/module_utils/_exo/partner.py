# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Partner mode for Microsoft 365: one multi-tenant app, a tenant per customer domain, a token per tenant.

* A domain's tenant is public: Entra ID's OpenID configuration for the domain
  (``{authority}/{domain}/v2.0/.well-known/openid-configuration``) names the tenant GUID in ``issuer`` and
  ``token_endpoint``; an unknown domain is refused with AADSTS90002.
* Tenants and tokens are cached per process, keyed by authority, tenant, app and credential (certificate
  thumbprint, or a hash of the secret): every domain of one tenant, and every task run in the same process
  (the preflight, a test, one task over many domains), asks Entra ID once. Ansible runs each task of each host
  in a forked worker, so two tasks of a play do not share the cache; see docs/partner.md.
* :func:`tenant_status` says whether a tenant is ready for the app (consent, ``Exchange.ManageAsApp``, an
  Exchange role) and, when not, what to do, in one line. The preflight calls it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time

try:
    from urllib.parse import quote, urlsplit
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore
    from urlparse import urlsplit  # type: ignore

from ansible_collections.mxhero.unroute.plugins.module_utils._exo.auth_advice import (  # noqa: F401 - re-exported
    aadsts_code, admin_consent_url)

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
MANAGE_AS_APP = "Exchange.ManageAsApp"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
# Seconds before expiry at which a cached token is no longer handed out.
_MARGIN = 300

_LOCK = threading.Lock()
_TENANTS = {}   # (authority_host, domain) -> tenant GUID
_TOKENS = {}    # (authority_host, tenant, client_id, credential id, resource) -> (token, expires_at)
STATS = {"discoveries": 0, "tokens": 0}


class PartnerError(Exception):
    """A domain whose tenant cannot be used: ``status`` (a word), ``cause`` and ``fix`` (sentences)."""

    def __init__(self, status, cause, fix):
        super(PartnerError, self).__init__(cause)
        self.status = status
        self.cause = cause
        self.fix = fix


def is_guid(value):
    return bool(_GUID.match(str(value or "")))


def credential_id(credential):
    """What identifies a credential in the cache without holding it: the certificate thumbprint, or a hash."""
    if isinstance(credential, dict):
        return "x5t:" + str(credential.get("thumbprint", "")).lower()
    return "secret:" + hashlib.sha256(str(credential).encode()).hexdigest()[:16]


# -- tenant discovery -----------------------------------------------------------
def _tenant_from_config(config):
    for field in ("issuer", "token_endpoint", "authorization_endpoint"):
        for part in urlsplit(str(config.get(field) or "")).path.split("/"):
            if is_guid(part):
                return part.lower()
    return None


def tenant_for_domain(domain, authority_host="https://login.microsoftonline.com", session=None, ca_path=None,
                      validate_certs=True, timeout=30.0):
    """The tenant GUID Entra ID publishes for ``domain``; PartnerError(``unknown_domain``/``unreachable``).

    A GUID is returned as given (an explicit tenant always wins); results are cached per process.
    """
    if is_guid(domain):
        return str(domain).lower()
    authority_host = str(authority_host).rstrip("/")
    name = str(domain).strip().rstrip(".").lower()
    key = (authority_host, name)
    with _LOCK:
        if key in _TENANTS:
            return _TENANTS[key]
    if session is None:
        import requests  # pylint: disable=import-outside-toplevel
        session = requests.Session()
    url = "%s/%s/v2.0/.well-known/openid-configuration" % (authority_host, quote(name, safe=""))
    verify = (ca_path or True) if validate_certs else False
    STATS["discoveries"] += 1
    try:
        resp = session.get(url, timeout=timeout, verify=verify)
    except Exception as err:  # pylint: disable=broad-except  # requests' errors, without importing it here
        raise PartnerError("unreachable", "cannot reach %s for the tenant of %s: %s"
                           % (authority_host, name, str(err).splitlines()[0][:200] if str(err) else err),
                           "check authority_host, the network path to it and ca_path, or set tenant_id")
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if resp.status_code == 200:
        tenant = _tenant_from_config(data if isinstance(data, dict) else {})
        if tenant:
            with _LOCK:
                _TENANTS[key] = tenant
            return tenant
        raise PartnerError("unknown_domain", "the OpenID configuration of %s at %s names no tenant"
                           % (name, authority_host), "set tenant_id for this domain")
    text = str((data or {}).get("error_description") or resp.text or "").splitlines()
    code = aadsts_code(text[0] if text else "")
    if code in (90002, 900023, 90023) or resp.status_code in (400, 404):
        raise PartnerError("unknown_domain", "Entra ID at %s knows no tenant for %s (%s)"
                           % (authority_host, name, ("AADSTS%d" % code) if code else "HTTP %d" % resp.status_code),
                           "check that %s is a verified domain of the customer's Microsoft 365 tenant (Microsoft "
                           "365 admin center > Settings > Domains), or set tenant_id for it" % name)
    raise PartnerError("unreachable", "%s answered HTTP %d for the tenant of %s"
                       % (authority_host, resp.status_code, name), "re-run later, or set tenant_id for this domain")


# -- the token cache ------------------------------------------------------------
def cached_token(key):
    with _LOCK:
        entry = _TOKENS.get(key)
    if entry and entry[1] - _MARGIN > time.time():
        return entry[0]
    return None


def store_token(key, token, expires_in):
    try:
        lifetime = float(expires_in)
    except (TypeError, ValueError):
        lifetime = 3599.0
    with _LOCK:
        _TOKENS[key] = (token, time.time() + lifetime)
        STATS["tokens"] += 1


def forget_token(key):
    with _LOCK:
        _TOKENS.pop(key, None)


def clear_caches():
    """Forget every tenant and token of this process (tests; a credential rotated mid-process)."""
    with _LOCK:
        _TENANTS.clear()
        _TOKENS.clear()
        STATS.update(discoveries=0, tokens=0)


def token_roles(token):
    """The ``roles`` claim of an access token (read, not verified: Exchange verifies it)."""
    try:
        body = str(token).split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError, TypeError):
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return list(roles) if isinstance(roles, list) else []


# -- readiness ------------------------------------------------------------------
def consent_fix(tenant, client_id, authority_host="https://login.microsoftonline.com", permission=False):
    url = admin_consent_url(tenant, client_id, authority_host)
    what = ("grant the application permission %s of Office 365 Exchange Online to app %s, then have" % (
        MANAGE_AS_APP, client_id)) if permission else "have"
    return ("%s a Global Administrator of tenant %s consent at %s (or push it with playbooks/consent.yml where a "
            "GDAP relationship exists)" % (what, tenant, url))


def role_fix(tenant, client_id):
    return ("assign the Exchange Administrator role (Entra admin center > Roles and administrators) to app %s's "
            "service principal in tenant %s, or add it to the Exchange role group Organization Management"
            % (client_id, tenant))


def classify(err, tenant, client_id, authority_host):
    """(status, fix) for an ExoAuthError met while getting a token or calling Exchange in ``tenant``."""
    text = str(err)
    code = aadsts_code(text)
    if code in (7000229, 700016, 65001, 650057, 7000112):
        return "no_consent", consent_fix(tenant, client_id, authority_host)
    if code in (90002, 900023, 90023):
        return "unknown_tenant", "check tenant_id, or leave it out so that the domain's tenant is looked up"
    if getattr(err, "status", None) == 403 or "http 403" in text.lower():
        if MANAGE_AS_APP.lower() in text.lower():
            return "no_permission", consent_fix(tenant, client_id, authority_host, permission=True)
        return "no_role", role_fix(tenant, client_id)
    return "credential", None


def tenant_status(client, domain=None, check_role=True):
    """Whether ``client`` (an ExoClient) can work in its tenant: a dict with ``ready`` and, when not, ``status``
    (``no_consent``, ``no_permission``, ``no_role``, ``credential``, ``unreachable``...), ``cause`` and ``fix``.

    Reads only: one token (cached) and, with ``check_role``, one ``Get-TransportRule`` limited to one rule.
    """
    # pylint: disable=import-outside-toplevel  # the client imports msal, which the caller checked
    from ansible_collections.mxhero.unroute.plugins.module_utils._exo.auth_advice import auth_fix
    from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import ExoAuthError, ExoError
    out = {"domain": domain or client.tenant_id, "tenant_id": client.tenant_id, "client_id": client.client_id,
           "ready": False, "status": None, "cause": None, "fix": None}
    tenant, app, host = client.tenant_id, client.client_id, client.authority_host
    try:
        token = client._access_token()  # pylint: disable=protected-access
    except ExoAuthError as err:
        status, fix = classify(err, tenant, app, host)
        out.update(status=status, cause=str(err), fix=fix or auth_fix(err, client))
        return out
    roles = token_roles(token)
    if roles is not None and MANAGE_AS_APP not in roles:
        out.update(status="no_permission", cause="the token for tenant %s carries no %s role (roles: %s)"
                   % (tenant, MANAGE_AS_APP, ", ".join(roles) or "none"),
                   fix=consent_fix(tenant, app, host, permission=True))
        return out
    if check_role:
        try:
            client.invoke("Get-TransportRule", {"ResultSize": 1})
        except ExoAuthError as err:
            status, fix = classify(err, tenant, app, host)
            out.update(status=status, cause=str(err), fix=fix or auth_fix(err, client))
            return out
        except ExoError as err:
            out.update(status="unreachable", cause=str(err), fix="re-run later; check api_endpoint and ca_path")
            return out
    out.update(ready=True, status="ready")
    return out


def status_line(status):
    """The one line for a tenant_status() that is not ready: domain: tenant, app: cause; fix."""
    return "%s: tenant %s, app %s: %s; %s" % (
        status["domain"], status["tenant_id"], status["client_id"], status["cause"], status["fix"])


def status_for_domain(domain, client_id, certificate_path=None, certificate_password=None, client_secret=None,
                      tenant_id=None, authority_host="https://login.microsoftonline.com",
                      api_endpoint="https://outlook.office365.com", ca_path=None, validate_certs=True, timeout=60.0,
                      check_role=True):
    """tenant_status() from what a host's variables hold: finds the tenant (``tenant_id`` wins), builds the client.

    Never raises for a domain's own trouble: an unknown domain or an unreadable credential comes back as a status
    (``unknown_domain``, ``unreachable``, ``credential``) with a ``line``; every status has ``line`` (None when
    ready). The caller declares ``secrets`` (the client's tokens) to its scrubber.
    """
    # pylint: disable=import-outside-toplevel  # the client imports msal, which the caller checked
    from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import ExoClient, ExoError
    out = {"domain": domain, "tenant_id": tenant_id, "client_id": client_id, "ready": False, "status": None,
           "cause": None, "fix": None, "line": None, "secrets": []}
    try:
        tenant = tenant_id or tenant_for_domain(domain, authority_host, ca_path=ca_path,
                                                validate_certs=validate_certs, timeout=timeout)
    except PartnerError as err:
        out.update(status=err.status, cause=err.cause, fix=err.fix,
                   line="%s: tenant of %s: %s; %s" % (domain, domain, err.cause, err.fix))
        return out
    out["tenant_id"] = tenant
    try:
        client = ExoClient(tenant, client_id, certificate_path=certificate_path,
                           certificate_password=certificate_password, client_secret=client_secret,
                           authority_host=authority_host, api_endpoint=api_endpoint, ca_path=ca_path,
                           validate_certs=validate_certs, timeout=timeout)
    except ExoError as err:
        out.update(status="credential", cause=str(err), fix="check certificate_path and certificate_password")
        out["line"] = status_line(out)
        return out
    status = tenant_status(client, domain, check_role=check_role)
    status["secrets"] = client.secret_values()
    status["line"] = None if status["ready"] else status_line(status)
    return status
