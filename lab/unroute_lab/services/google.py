"""Emulated Google Workspace on one HTTPS listener (lab CA): the customers of the estate, the OAuth token
endpoint, and the router to one module per API (``APIS``): Cloud Identity Policy API v1 (google_policy.py),
the Directory API's ``orgunits``, ``users.list`` and ``tokens`` (google_directory.py), the Reports API's admin
activity log (google_reports.py), Gmail's ``users.settings.sendAs`` (google_gmail.py) and the legacy Admin
Settings API ``email/gateway`` resource (google_admin_settings.py).

Wire formats follow /work/shared/reference/google-workspace.md and the v1 discovery
document (policies.list/get/create/patch/delete, Operation, google.rpc error bodies).
One customer per estate domain with a ``google`` section; each has a super admin and
a user who is not one. One service-account key for the lab (token_uri -> this listener),
granted domain-wide delegation for the scopes in ``DELEGATED_SCOPES`` (or a customer's own
``delegated_scopes``).
"""

from __future__ import annotations

import copy
import json
import os
import secrets
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization

from .. import pki as pki_mod
from . import google_auth as auth
from . import google_catalogue as catalogue
from . import google_directory as directory
from . import google_admin_settings as admin_settings
from . import google_gmail as gmail
from . import google_policy as policy
from . import google_reports as reports
from .base import Budget, LabHandler, LabService
from .google_policy import ApiError, stable_id as _stable_id

DELEGATED_SCOPES = (policy.SCOPE_POLICIES, policy.SCOPE_POLICIES_RO, admin_settings.SCOPE_ADMIN_SETTINGS,
                    directory.SCOPE_ORGUNIT_RO, directory.SCOPE_USER_RO, directory.SCOPE_USER_SECURITY,
                    reports.SCOPE_AUDIT_RO, gmail.SCOPE_SETTINGS_BASIC)
KNOWN_SCOPES = DELEGATED_SCOPES + (directory.SCOPE_ORGUNIT, directory.SCOPE_USER)
SA_EMAIL = "unroute-lab@unroute-lab.iam.gserviceaccount.com"
# Each API the listener serves: its path router and its module (route(path) -> argument or None).
APIS = (("policy", policy), ("directory", directory), ("reports", reports), ("gmail", gmail),
        ("legacy", admin_settings))


class GoogleService(LabService):
    name = "google"
    section = "google"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.tokens = auth.TokenStore()
        self.customers = {}
        self.refresh_tokens = {}
        self.server = None
        self.dir = ctx.dir / "google"
        self.key = None
        self.service_account = None
        for domain in ctx.estate.with_section(self.section):
            self._load_customer(domain)

    # -- estate ------------------------------------------------------------------
    def _load_customer(self, domain):
        spec = domain.section(self.section) or {}
        cid = spec.get("customer_id") or ("C0" + _stable_id(domain.name, length=7))
        root = "orgUnits/" + _stable_id(domain.name, "root", length=14)
        customer = {
            "id": cid, "domain": domain.name,
            "super_admins": [spec.get("super_admin") or "admin@%s" % domain.name],
            "users": [spec.get("user") or "user@%s" % domain.name],
            "delegation": bool(spec.get("delegation", True)),
            # What a super admin entered for the lab's client ID under domain-wide delegation.
            "delegated_scopes": list(spec.get("delegated_scopes") or DELEGATED_SCOPES),
            # The Admin console shows the top-level unit under the organisation's name.
            "org_name": str(spec.get("organization_name") or domain.name),
            # false models Google today: the Admin Settings API was turned off on 2018-10-31.
            "admin_settings_api": bool(spec.get("admin_settings_api", True)),
            "org_units": {"/": root},
            "mutate_supported": list(spec.get("mutate_supported") or []),
            "page_size": spec.get("page_size"),
            "gateway": {"smartHost": "", "smtpMode": "SMTP"},
            "policies": {},
            "user_page_size": spec.get("user_page_size"),
            "audit_page_size": spec.get("audit_page_size"),
            "directory_users": {},
            "audit_events": [],
        }
        self._load_users(customer, spec)
        customer["audit_events"] = [reports.event_from_estate(customer, i, item)
                                    for i, item in enumerate(spec.get("audit_events") or [])]
        for path in spec.get("org_units") or []:
            self._ensure_org_unit(customer, str(path))
        gateway = spec.get("outbound_gateway") or {}
        if gateway:
            customer["gateway"] = {"smartHost": str(gateway.get("smart_host") or ""),
                                   "smtpMode": str(gateway.get("smtp_mode") or "SMTP")}
        # Google keeps a SYSTEM policy for settings nobody changed; one is enough to be realistic.
        policy.add_policy(customer, "gmail.per_user_outbound_gateway", {"allowUsersToUseExternalSmtpServers": False},
                         "/", "SYSTEM")
        for index, item in enumerate(spec.get("policies") or []):
            setting = str(item["setting"])
            if not catalogue.known(setting):
                raise ValueError("%s: google.policies[%d]: %s is not in Google's published list of Gmail "
                                 "settings (lab/unroute_lab/services/google_catalogue.py)"
                                 % (domain.name, index, setting))
            org_unit = self._ensure_org_unit(customer, str(item.get("org_unit") or "/"))
            policy.add_policy(customer, setting, item.get("value") or {}, org_unit, item.get("type", "ADMIN"))
        self.customers[cid] = customer

    def _load_users(self, customer, spec):
        """The Directory's users: the super admin, the plain user, ``directory_users`` and ``generated_users``
        (user0001@... for paging), each with the OAuth grants the estate gives them."""
        users = customer["directory_users"]

        def add(email, **kwargs):
            email = str(email)
            if email not in users:
                users[email] = directory.new_user(customer, email, **kwargs)
            return users[email]

        for email in customer["super_admins"]:
            add(email, is_admin=True)
        for email in customer["users"]:
            add(email)
        for index in range(int(spec.get("generated_users") or 0)):
            add("user%04d@%s" % (index + 1, customer["domain"]))
        for item in spec.get("directory_users") or []:
            item = {"email": item} if isinstance(item, str) else dict(item)
            org_unit = self._ensure_org_unit(customer, str(item.get("org_unit") or "/"))
            user = add(item["email"], org_unit=org_unit, suspended=item.get("suspended", False))
            user["send_as"] = [gmail.alias_from_estate(a) for a in item.get("send_as") or []]
            for grant in item.get("grants") or []:
                user["grants"][str(grant["client_id"])] = directory.new_grant(
                    user, grant["client_id"], grant.get("display_text"), grant.get("scopes") or [],
                    grant.get("native_app", False), grant.get("anonymous", False))

    @staticmethod
    def _ensure_org_unit(customer, path):
        """The unit at ``path`` (``/Sales/EMEA``), created with its parents when missing."""
        path = "/" + path.strip().strip("/")
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            sub = "/" + "/".join(parts[:depth])
            if sub not in customer["org_units"]:
                customer["org_units"][sub] = "orgUnits/" + _stable_id(customer["domain"], sub, length=14)
        return path

    # -- lifecycle ---------------------------------------------------------------
    def start(self):
        port = self.serve_https(_Handler, "google")
        self.base_url = "https://127.0.0.1:%d/" % port
        self.token_uri = self.base_url + "token"
        self._write_credentials()
        return {
            "url": self.base_url, "endpoint": self.base_url, "token_uri": self.token_uri,
            "policy_api_endpoint": self.base_url, "admin_settings_endpoint": self.base_url,
            "ca": str(self.ctx.pki.ca_path), "service_account_file": str(self.sa_path),
            "service_account_email": SA_EMAIL, "delegated_scopes": list(DELEGATED_SCOPES),
            "customers": {c["domain"]: {"customer_id": c["id"], "super_admin": c["super_admins"][0],
                                        "user": c["users"][0], "authorized_user_file": c["authorized_user_file"]}
                          for c in self.customers.values()},
        }

    def _write_secret(self, path, data):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        os.chmod(str(path), 0o600)

    def _write_credentials(self):
        self.key = pki_mod.new_key()
        key_id = secrets.token_hex(20)
        self.service_account = {
            "type": "service_account", "project_id": "unroute-lab", "private_key_id": key_id,
            "private_key": pki_mod.key_pem(self.key).decode(), "client_email": SA_EMAIL,
            "client_id": "1" + "".join(str(b % 10) for b in secrets.token_bytes(20)),
            "auth_uri": self.base_url + "o/oauth2/auth", "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": self.base_url + "oauth2/v1/certs",
            "client_x509_cert_url": self.base_url + "robot/v1/metadata/x509/" + SA_EMAIL,
            "universe_domain": "googleapis.com",
        }
        self.sa_path = self.dir / "service-account.json"
        self._write_secret(self.sa_path, self.service_account)
        # Public half kept in the clear: it is what Google publishes for a key.
        (self.dir / "service-account.pub.pem").write_bytes(self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        for customer in self.customers.values():
            refresh = "1//lab-" + secrets.token_urlsafe(24)
            client_id = "lab-%s.apps.googleusercontent.com" % customer["id"].lower()
            secret = "GOCSPX-" + secrets.token_urlsafe(18)
            self.refresh_tokens[refresh] = {"customer": customer["id"], "email": customer["super_admins"][0],
                                            "client_id": client_id, "client_secret": secret,
                                            "scopes": list(customer["delegated_scopes"])}
            path = self.dir / ("authorized-user-%s.json" % customer["domain"])
            self._write_secret(path, {"type": "authorized_user", "client_id": client_id, "client_secret": secret,
                                      "refresh_token": refresh, "token_uri": self.token_uri,
                                      "universe_domain": "googleapis.com"})
            customer["authorized_user_file"] = str(path)

    # -- LabService --------------------------------------------------------------
    def state(self):
        with self.lock:
            return {"customers": {c["domain"]: {
                "customer_id": c["id"], "super_admins": c["super_admins"], "users": c["users"],
                "org_units": dict(c["org_units"]), "organization_name": c["org_name"],
                "delegated_scopes": list(c["delegated_scopes"]), "outbound_gateway": dict(c["gateway"]),
                "mutate_supported": c["mutate_supported"],
                "policies": sorted(copy.deepcopy(list(c["policies"].values())), key=lambda p: p["name"]),
                # Only users holding grants, so a dump of a large generated directory stays readable.
                "user_count": len(c["directory_users"]),
                "grants": {u["primaryEmail"]: [copy.deepcopy(g) for _, g in sorted(u["grants"].items())]
                           for u in c["directory_users"].values() if u["grants"]},
                "send_as": {u["primaryEmail"]: [dict(a) for a in u["send_as"]]
                            for u in c["directory_users"].values() if u["send_as"]},
                "audit_events": [reports.activity(c, e, directory.profile_id(c, e["actor"]))
                                 for e in sorted(c["audit_events"], key=lambda e: e["time"], reverse=True)],
            } for c in self.customers.values()}}

    def host_vars(self, domain):
        customer = self.by_domain(domain.name)
        if customer is None:
            return {}
        return {
            "unroute_google_service_account_file": str(self.sa_path),
            "unroute_google_subject": customer["super_admins"][0],
            "unroute_google_user": customer["users"][0],
            "unroute_google_authorized_user_file": customer["authorized_user_file"],
            "unroute_google_customer_id": customer["id"],
            "unroute_google_api_endpoint": self.base_url,
            "unroute_google_admin_settings_endpoint": self.base_url,
            "unroute_google_ca_path": str(self.ctx.pki.ca_path),
            "unroute_google_token_uri": self.token_uri,
            "unroute_google_mutable_setting_types": ["settings/" + t.replace("settings/", "")
                                                     for t in customer["mutate_supported"]],
        }

    def by_domain(self, name):
        for customer in self.customers.values():
            if customer["domain"] == name:
                return customer
        return None

    # -- token endpoint ----------------------------------------------------------
    def token(self, form):
        grant = form.get("grant_type")
        if grant == auth.JWT_BEARER:
            _, claims = auth.verify_jwt(form.get("assertion") or "", self.key.public_key())
            subject, scopes = auth.check_claims(claims, self.service_account, self.token_uri, KNOWN_SCOPES)
            if subject is None:
                raise auth.OAuthError("invalid_grant", "Not a valid email or user ID.")
            customer = self._customer_of(subject)
            if customer is None:
                raise auth.OAuthError("invalid_grant", "Invalid email or User ID")
            if not customer["delegation"] or not set(scopes) <= set(customer["delegated_scopes"]):
                raise auth.OAuthError("unauthorized_client", "Client is unauthorized to retrieve access tokens "
                                      "using this method, or client not authorized for any of the scopes "
                                      "requested.", status=401)
            return self.tokens.issue(subject, customer["id"], scopes)
        if grant == "refresh_token":
            entry = self.refresh_tokens.get(form.get("refresh_token") or "")
            if entry is None or entry["client_id"] != form.get("client_id") \
                    or entry["client_secret"] != form.get("client_secret"):
                raise auth.OAuthError("invalid_grant", "Token has been expired or revoked.")
            scopes = (form.get("scope") or "").split() or entry["scopes"]
            if not set(scopes) <= set(entry["scopes"]):
                raise auth.OAuthError("invalid_scope", "Bad Request")
            return self.tokens.issue(entry["email"], entry["customer"], scopes)
        raise auth.OAuthError("unsupported_grant_type", "Invalid grant_type: %s" % grant)

    def _customer_of(self, email):
        for customer in self.customers.values():
            if email in customer["super_admins"] or email in customer["users"] \
                    or email in customer["directory_users"]:
                return customer
        return None



class _Handler(LabHandler):
    protocol_version = "HTTP/1.1"
    json_type = "application/json; charset=UTF-8"
    json_options = {"indent": 2}

    def _send(self, code, data, content_type=None, headers=None):
        if isinstance(data, bytes):
            return self.send_bytes(code, data, content_type, headers or {})
        return self.send_json(code, data, headers or {})

    def _fault(self, api):
        spec = self.svc.take_fault("429", "500", "502", "503", "403", api=api, method=self.command)
        budget = self.svc.budget
        if spec is None and budget is not None and api != "token":
            # Quotas are per Cloud project (the lab's Google is one project); over one, Google answers 429 with
            # reason rateLimitExceeded (Admin SDK and Gmail "Resolve errors" pages) and a Retry-After.
            wait = budget.take("project", self.command != "GET")
            if wait is not None:
                spec = {"kind": "429", "retry_after": Budget.seconds(wait), "message": "Rate Limit Exceeded"}
        if spec is None:
            return False
        code = int(spec["kind"])
        headers = {}
        if code == 429:
            headers["Retry-After"] = str(spec.get("retry_after", 1))
        if api == "token":
            self._send(code, {"error": "internal_failure" if code >= 500 else "rate_limit_exceeded",
                              "error_description": "lab fault %s" % code}, headers=headers)
        elif api in ("directory", "reports", "gmail"):
            self._send(code, directory.DirectoryError(code, spec.get("message") or "lab fault %d" % code, "backendError" if code >= 500
                                                      else "rateLimitExceeded" if code == 429 else "forbidden").body(),
                       headers=headers)
        elif api == "legacy":
            self._send(code, b"<HTML><BODY>lab fault %d</BODY></HTML>" % code, "text/html; charset=UTF-8", headers)
        else:
            message = {429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.",
                       403: "The caller does not have permission"}.get(code, "The service is currently unavailable.")
            self._send(code, ApiError(code, message).body(), headers=headers)
        return True

    def _route(self):
        path = urlsplit(self.path).path
        if path == "/token":
            return "token", None
        for api, module in APIS:
            found = module.route(path)
            if found is not None:
                return api, found
        return None, None

    def _handle(self):
        api, arg = self._route()
        if api is None:
            return self._send(404, ApiError(404, "Not Found").body())
        if self._fault(api):
            self.read_body()
            return None
        auth_header = self.headers.get("Authorization")
        query_text = urlsplit(self.path).query
        try:
            if api == "token":
                if self.command != "POST":
                    return self._send(405, {"error": "invalid_request", "error_description": "POST only"})
                form = {k: v[0] for k, v in parse_qs(self.read_body().decode()).items()}
                return self._send(200, self.svc.token(form))
            if api == "legacy":
                customer = admin_settings.customer_of(self.svc, auth_header, arg)
                if self.command == "PUT":
                    admin_settings.put(self.svc, customer, self.read_body())
                elif self.command != "GET":
                    raise admin_settings.LegacyError(405, "Method not allowed")
                return self._send(200, admin_settings.entry(self.svc, customer), "application/atom+xml; charset=UTF-8")
            if api != "policy":
                body = dict(APIS)[api].call(self.svc, auth_header, self.command, arg, query_text)
                return self.send_bytes(204) if body is None else self._send(200, body)
            query = {k: v[0] for k, v in parse_qs(query_text).items()}
            body = self.read_body()
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                raise ApiError(400, "Invalid JSON payload received.")
            return self._send(200, policy.call(self.svc, auth_header, self.command, arg, query, payload))
        except auth.OAuthError as err:
            return self._send(err.status, err.body())
        except ApiError as err:
            return self._send(err.code, err.body())
        except directory.DirectoryError as err:
            return self._send(err.code, err.body())
        except admin_settings.LegacyError as err:
            if err.xml:
                return self._send(err.code, err.text.encode(), "text/xml; charset=UTF-8")
            page = "<HTML>\n<HEAD>\n<TITLE>%s</TITLE>\n</HEAD>\n<BODY>\n<H1>%s</H1>\n</BODY>\n</HTML>\n" % (
                err.text, err.text)
            return self._send(err.code, page.encode(), "text/html; charset=UTF-8")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
