"""Exchange Online emulator: Entra ID token endpoint plus the Exchange admin REST ``InvokeCommand``.

One HTTPS listener (lab CA) serves, for every tenant of the estate:

  GET  /{tenant}/v2.0/.well-known/openid-configuration
  POST /{tenant}/oauth2/v2.0/token                      client_credentials (assertion or secret)
  POST /adminapi/beta/{tenant}/InvokeCommand[?$skiptoken=...]

``{tenant}`` is the tenant GUID or the domain name. Wire formats follow
shared/reference/exchange-online.md; see docs/microsoft365.md for what is
emulated and how faults are switched on.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
import uuid

from .base import Budget, LabHandler, LabService
from .exo_auth import EXCHANGE_ROLE, AppRegistration, AuthError, TokenSigner
from .exo_partner import HOME_DOMAIN, PartnerLab
from .exo_state import CMDLETS, CmdletError, Tenant

RESOURCE = "https://outlook.office365.com"
# A nextLink stays valid this long (seconds), like the real one ("valid only minutes").
NEXTLINK_TTL = 300
THROTTLE_TEXT = ("The request was throttled: the maximum number of concurrent requests per tenant has been "
                 "exceeded. Please retry after some time.")


class ExchangeOnlineService(LabService):
    name = "exo"
    section = "microsoft365"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.tenants = {}      # tenant GUID -> Tenant
        self.apps = {}         # tenant GUID -> AppRegistration
        self.by_name = {}      # GUID or domain (lower case) -> tenant GUID
        self.pages = {}        # skiptoken -> paging snapshot
        self.requests = []     # one dict per answered request, for tests and debugging
        self.server = None
        self.base = None
        self.signer = None
        self.partner = PartnerLab(ctx.dir / "exo" / "partner")

    # -- lifecycle -------------------------------------------------------------
    def start(self):
        for domain in self.ctx.estate.with_section(self.section):
            section = domain.section(self.section) or {}
            tenant_id = str(section.get("tenant_id") or uuid.uuid5(uuid.NAMESPACE_DNS, "tenant." + domain.name))
            client_id = str(section.get("client_id") or uuid.uuid5(uuid.NAMESPACE_DNS, "app." + domain.name))
            self.tenants[tenant_id] = Tenant(domain.name, section, tenant_id)
            app = AppRegistration(self.ctx.dir / "exo" / domain.name, domain.name, client_id)
            options = section.get("app") or {}
            app.secret_expired = bool(options.get("secret_expired", False))
            app.certificate_expired = bool(options.get("certificate_expired", False))
            app.manage_as_app = bool(options.get("manage_as_app", True))
            self.apps[tenant_id] = app
            self.by_name[tenant_id.lower()] = tenant_id
            self.by_name[domain.name.lower()] = tenant_id
            self.partner.load(tenant_id, domain.name, section)
        if self.partner.enabled:
            # The partner's own tenant, home of the multi-tenant app (and caller of Partner Center).
            home = self.partner.home_tenant
            self.tenants[home] = Tenant(HOME_DOMAIN, {}, home)
            self.apps[home] = self.partner.app
            self.by_name[home] = self.by_name[HOME_DOMAIN] = home
        port = self.serve_https(_Handler, "exo")
        self.base = "https://127.0.0.1:%d" % port
        self.signer = TokenSigner(self.base)
        return {"server": "127.0.0.1", "port": port, "url": self.base, "authority_host": self.base,
                "api_endpoint": self.base, "ca": str(self.ctx.pki.ca_path),
                "tenants": {t.domain: dict(self.apps[tid].manifest(), tenant_id=tid)
                            for tid, t in self.tenants.items()},
                "partner": self.partner.manifest(), "partner_center_endpoint": self.base}

    def state(self):
        with self.lock:
            return {"tenants": {t.domain: t.state() for t in self.tenants.values()},
                    "faults": [dict(f) for f in self.faults], "partner": self.partner.state(),
                    "requests": list(self.requests[-500:])}

    def host_vars(self, domain):
        if domain.section(self.section) is None:
            return {}
        tid = self.by_name[domain.name]
        app = self.apps[tid]
        if tid in self.partner.customers:
            # Partner mode: the one app, and no tenant id (the modules look the domain's tenant up).
            app = self.partner.app
            return {"unroute_exo_client_id": app.client_id, "unroute_exo_certificate_path": str(app.pem_path),
                    "unroute_exo_authority_host": self.base, "unroute_exo_api_endpoint": self.base,
                    "unroute_exo_ca_path": str(self.ctx.pki.ca_path),
                    "unroute_exo_partner_tenant_id": self.partner.home_tenant,
                    "unroute_exo_partner_center_endpoint": self.base}
        return {"unroute_exo_tenant_id": tid, "unroute_exo_client_id": app.client_id,
                "unroute_exo_certificate_path": str(app.pem_path),
                "unroute_exo_client_secret": "{{ lookup('ansible.builtin.file', '%s') }}" % app.secret_path,
                "unroute_exo_authority_host": self.base, "unroute_exo_api_endpoint": self.base,
                "unroute_exo_ca_path": str(self.ctx.pki.ca_path)}

    def tenant(self, name):
        tid = self.by_name.get(str(name).lower())
        return (tid, self.tenants[tid]) if tid else (None, None)


class _Handler(LabHandler):
    protocol_version = "HTTP/1.1"

    def common_headers(self):
        return [("request-id", str(uuid.uuid4()))]

    # -- plumbing --------------------------------------------------------------
    def _reply(self, status, body=None, headers=None, content_type="application/json; charset=utf-8"):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif body is None:
            data = b""
        else:
            data = str(body).encode()
            content_type = "text/plain; charset=utf-8"
        self.send_bytes(status, data, content_type if data else None, headers or {})
        with self.svc.lock:
            self.svc.requests.append({"method": self.command, "path": self.path.split("?")[0], "status": status,
                                      "cmdlet": getattr(self, "cmdlet", None),
                                      "page": "skiptoken=" in self.path})

    def _body(self):
        return self.read_body()

    def _parts(self):
        return self.split_path()[0]

    # -- routing ---------------------------------------------------------------
    def do_GET(self):
        self.cmdlet = None
        parts = self._parts()
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._openid(parts[0])
        if len(parts) == 4 and parts[:2] == ["adminapi", "beta"] and parts[3] == "InvokeCommand":
            return self._reply(405, {"error": {"code": "MethodNotAllowed",
                                               "message": "InvokeCommand accepts POST only."}})
        if parts[:2] == ["v1", "customers"]:
            return self._partner_center(parts)
        return self._reply(404, {"error": {"code": "NotFound", "message": "No such endpoint: %s" % self.path}})

    def do_DELETE(self):
        self.cmdlet = None
        parts = self._parts()
        if parts[:2] == ["v1", "customers"]:
            return self._partner_center(parts)
        return self._reply(404, {"error": {"code": "NotFound", "message": "No such endpoint: %s" % self.path}})

    def _partner_center(self, parts, raw=b""):
        with self.svc.lock:
            status, body = self.svc.partner.handle(self.command, parts, self.headers, raw, self.svc.signer)
        return self._reply(status, body)

    def do_POST(self):
        self.cmdlet = None
        parts = self._parts()
        body = self._body()
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self._token(parts[0], body)
        if len(parts) == 4 and parts[:2] == ["adminapi", "beta"] and parts[3] == "InvokeCommand":
            return self._invoke(parts[2], body)
        if parts[:2] == ["v1", "customers"]:
            return self._partner_center(parts, body)
        return self._reply(404, {"error": {"code": "NotFound", "message": "No such endpoint: %s" % self.path}})

    # -- identity --------------------------------------------------------------
    def _unknown_tenant(self, name):
        err = AuthError(400, "invalid_tenant", 90002,
                        "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing "
                        "into the correct cloud." % name)
        return self._reply(err.status, err.body())

    def _openid(self, name):
        tid, _ = self.svc.tenant(name)
        if tid is None:
            return self._unknown_tenant(name)
        base = "%s/%s" % (self.svc.base, name)
        return self._reply(200, {
            "token_endpoint": base + "/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": "%s/%s/discovery/v2.0/keys" % (self.svc.base, tid),
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_endpoint": base + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
            "issuer": "%s/%s/v2.0" % (self.svc.base, tid),
            "tenant_region_scope": "EU",
        })

    def _token(self, name, raw):
        svc = self.svc
        tid, _ = svc.tenant(name)
        if tid is None:
            return self._unknown_tenant(name)
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}
        app = svc.apps[tid]
        roles = None
        try:
            partner = svc.partner.app_for(tid, form.get("client_id"), name)
            if partner is not None:
                app, roles = partner
            if form.get("grant_type") != "client_credentials":
                raise AuthError(400, "unsupported_grant_type", 70003,
                                "The app requested an unsupported grant type '%s'." % form.get("grant_type"))
            if form.get("client_id") != app.client_id:
                raise AuthError(400, "unauthorized_client", 700016,
                                "Application with identifier '%s' was not found in the directory '%s'."
                                % (form.get("client_id"), name))
            scope = form.get("scope", "")
            resource = scope[:-len("/.default")] if scope.endswith("/.default") else None
            if resource not in (RESOURCE, svc.base) + svc.partner.resources(tid):
                raise AuthError(400, "invalid_scope", 500011,
                                "The resource principal named %s was not found in the tenant named %s."
                                % (resource or scope, name))
            if form.get("client_assertion"):
                if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                    raise AuthError(400, "invalid_request", 50027, "Invalid client_assertion_type.")
                audiences = {"%s/%s/oauth2/v2.0/token" % (svc.base, n) for n in (tid, name)}
                with svc.lock:
                    app.check_assertion(form["client_assertion"], audiences)
            elif form.get("client_secret"):
                app.check_secret(form["client_secret"])
            else:
                raise AuthError(401, "invalid_client", 7000218,
                                "The request body must contain the following parameter: 'client_assertion' or "
                                "'client_secret'.")
        except AuthError as err:
            return self._reply(err.status, err.body())
        lifetime = 3599
        if svc.take_fault("expired_token", tenant=svc.tenants[tid].domain):
            lifetime = -60  # already expired, though expires_in below promises an hour
        # Entra puts only the application permissions an admin consented to in the roles claim.
        if roles is None:
            roles = [EXCHANGE_ROLE] if app.manage_as_app else []
        token = svc.signer.issue(tid, app.client_id, resource, roles, lifetime=lifetime)
        return self._reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                 "access_token": token})

    # -- Exchange admin API ----------------------------------------------------
    def _unauthorized(self, reason):
        diag = '2000001;reason="%s";error_category="invalid_token"' % reason
        challenge = ('Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
                     'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
                     'token_types="app_asserted_user_v1 service_asserted_app_v1", '
                     'authorization_uri="%s/common/oauth2/authorize", error="invalid_token"' % self.svc.base)
        return self._reply(401, None, {"WWW-Authenticate": challenge, "x-ms-diagnostics": diag})

    def _invoke(self, name, raw):
        svc = self.svc
        tid, tenant = svc.tenant(name)
        if tid is None:
            return self._reply(404, {"error": {"code": "NotFound", "message": "Tenant '%s' not found." % name}})
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return self._unauthorized("No bearer token was presented.")
        try:
            claims = svc.signer.check(auth[len("Bearer "):].strip())
        except ValueError as err:
            if str(err) == "expired":
                return self._unauthorized("The token has expired.")
            return self._unauthorized("The token signature is invalid.")
        if claims.get("aud") not in (RESOURCE, svc.base):
            return self._unauthorized("The audience claim value is invalid '%s'." % claims.get("aud"))
        if claims.get("tid") != tid:
            return self._unauthorized("The token was issued for another tenant.")
        if EXCHANGE_ROLE not in claims.get("roles", []):
            diag = ('2000008;reason="The token has no Exchange.ManageAsApp role: the application permission has '
                    'not been granted and consented.";error_category="insufficient_permissions"')
            return self._reply(403, None, {"x-ms-diagnostics": diag})
        if not tenant.exchange_role:
            diag = ('2000008;reason="The application has no Exchange role assigned: assign an Entra role such as '
                    'Exchange Administrator to its service principal.";error_category="insufficient_permissions"')
            return self._reply(403, None, {"x-ms-diagnostics": diag})
        if (self.headers.get("X-ResponseFormat") or "").lower() != "json":
            return self._reply(400, {"error": {"code": "BadRequest", "message":
                                               "The lab emulates X-ResponseFormat: json only (clixml is not "
                                               "emulated)."}})
        try:
            request = json.loads(raw or b"{}")
            cmdlet_input = request["CmdletInput"]
            cmdlet = cmdlet_input["CmdletName"]
            params = cmdlet_input.get("Parameters") or {}
            self.cmdlet = cmdlet
        except (ValueError, KeyError, TypeError):
            return self._reply(400, {"error": {"code": "BadRequest", "message":
                                               "The request body must be {\"CmdletInput\": {\"CmdletName\": ..., "
                                               "\"Parameters\": {...}}}."}})
        if svc.budget is not None:
            # Exchange Online throttles per tenant: 429 with Retry-After, as Microsoft's REST services answer.
            wait = svc.budget.take(tid)
            if wait is not None:
                return self._fault_reply({"kind": "429", "retry_after": Budget.seconds(wait)})
        fault = svc.take_fault("429", "5xx", "concurrency", cmdlet=cmdlet, tenant=tenant.domain)
        if fault and not fault.get("after_write"):
            return self._fault_reply(fault)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if "$skiptoken" in query:
            return self._next_page(tid, tenant, cmdlet, query["$skiptoken"][-1])
        with svc.lock:
            try:
                verb = CMDLETS.get(cmdlet, (None, None))[1]
                lag = svc.take_fault("lag", tenant=tenant.domain) if verb not in (None, "get") else None
                hold = None
                if cmdlet == "Set-InboundConnector" and params.get("Enabled") is True:
                    hold = svc.take_fault("inbound_hold", tenant=tenant.domain)
                items = tenant.run(cmdlet, params, lag=lag, hold=hold)
                warnings = tenant.take_warnings()
            except CmdletError as err:
                return self._reply(err.status, err.body())
        if fault:  # the write happened, but the caller hears a server error: unknown outcome
            return self._fault_reply(fault)
        return self._page(tid, tenant, cmdlet, items, 0, warnings=warnings)

    def _fault_reply(self, fault):
        if fault["kind"] == "concurrency":
            return self._reply(429, THROTTLE_TEXT)
        if fault["kind"] == "429":
            headers = {}
            if fault.get("retry_after") is not None:
                headers["Retry-After"] = str(fault["retry_after"])
            return self._reply(429, {"error": {"code": "TooManyRequests",
                                               "message": "Rate limit exceeded. Please retry later."}}, headers)
        status = int(fault.get("status", 503))
        codes = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        return self._reply(status, {"error": {"code": codes.get(status, "ServerError"),
                                              "message": "The service is temporarily unavailable."}})

    def _page_size(self, tenant):
        size = tenant.page_size
        for item in (self.headers.get("Prefer") or "").split(","):
            key, _, value = item.strip().partition("=")
            if key.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
                size = min(size, max(1, int(value)))
        return size

    def _page(self, tid, tenant, cmdlet, items, offset, size=None, warnings=None):
        # The skip token carries the page size chosen for the first page, as OData services do.
        size = size or self._page_size(tenant)
        chunk = items[offset:offset + size]
        body = {"@odata.context": "%s/adminapi/beta/%s/$metadata#Collection(Exchange.GenericHashTable)"
                % (self.svc.base, tid), "value": chunk}
        if warnings:
            # What PowerShell prints as WARNING: lines comes back next to the (empty) value of a write.
            body["@adminapi.warnings"] = list(warnings)
        if offset + size < len(items):
            token = secrets.token_urlsafe(16)
            with self.svc.lock:
                self.svc.pages[token] = {"tenant": tid, "cmdlet": cmdlet, "items": items, "offset": offset + size,
                                         "size": size, "expires": time.time() + NEXTLINK_TTL}
            host = self.svc.base
            if self.svc.take_fault("foreign_nextlink", tenant=tenant.domain):
                host = "https://adminapi.evil.example"
            body["@odata.nextLink"] = "%s/adminapi/beta/%s/InvokeCommand?%s" % (
                host, tid, urllib.parse.urlencode({"$skiptoken": token}))
        return self._reply(200, body, content_type="application/json;odata.metadata=minimal;"
                                                   "odata.streaming=true;IEEE754Compatible=false;charset=utf-8")

    def _next_page(self, tid, tenant, cmdlet, token):
        with self.svc.lock:
            page = self.svc.pages.pop(token, None)
        if page is None or page["expires"] < time.time() or page["tenant"] != tid:
            return self._reply(400, {"error": {"code": "BadRequest", "message":
                                               "The skip token is invalid or has expired; run the command again."}})
        if page["cmdlet"] != cmdlet:
            return self._reply(400, {"error": {"code": "BadRequest", "message":
                                               "The nextLink belongs to %s, not %s." % (page["cmdlet"], cmdlet)}})
        return self._page(tid, tenant, cmdlet, page["items"], page["offset"], page["size"])

