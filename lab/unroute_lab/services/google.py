"""Emulated Google Workspace: OAuth token endpoint, Cloud Identity Policy API v1, the Directory
API's ``orgunits`` (read), ``users.list`` and ``tokens`` (users' OAuth grants), the Reports API's admin
activity log, Gmail's ``users.settings.sendAs`` (read), and the legacy Admin Settings API ``email/gateway`` resource, on one HTTPS listener (lab CA).

Wire formats follow /work/shared/reference/google-workspace.md and the v1 discovery
document (policies.list/get/create/patch/delete, Operation, google.rpc error bodies).
One customer per estate domain with a ``google`` section; each has a super admin and
a user who is not one. One service-account key for the lab (token_uri -> this listener),
granted domain-wide delegation for the scopes in ``DELEGATED_SCOPES`` (or a customer's own
``delegated_scopes``).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import secrets
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import serialization

from .. import pki as pki_mod
from . import google_auth as auth
from . import google_catalogue as catalogue
from . import google_directory as directory
from . import google_gmail as gmail
from . import google_reports as reports
from .base import LabService
from .google_filter import Filter, FilterError

SCOPE_POLICIES = "https://www.googleapis.com/auth/cloud-identity.policies"
SCOPE_POLICIES_RO = "https://www.googleapis.com/auth/cloud-identity.policies.readonly"
SCOPE_ADMIN_SETTINGS = "https://apps-apis.google.com/a/feeds/domain/"
DELEGATED_SCOPES = (SCOPE_POLICIES, SCOPE_POLICIES_RO, SCOPE_ADMIN_SETTINGS, directory.SCOPE_ORGUNIT_RO,
                    directory.SCOPE_USER_RO, directory.SCOPE_USER_SECURITY, reports.SCOPE_AUDIT_RO,
                    gmail.SCOPE_SETTINGS_BASIC)
KNOWN_SCOPES = DELEGATED_SCOPES + (directory.SCOPE_ORGUNIT, directory.SCOPE_USER)
ATOM = "http://www.w3.org/2005/Atom"
APPS = "http://schemas.google.com/apps/2006"
LEGACY_PREFIX = "/a/feeds/domain/2.0/"
SA_EMAIL = "unroute-lab@unroute-lab.iam.gserviceaccount.com"
SMTP_MODES = ("SMTP", "SMTP_TLS")

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
           503: "UNAVAILABLE"}


class ApiError(Exception):
    def __init__(self, code, message, status=None, reason=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS.get(code, "UNKNOWN")
        self.reason = reason

    def body(self):
        error = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason,
                                 "domain": "googleapis.com",
                                 "metadata": {"service": "cloudidentity.googleapis.com"}}]
        return {"error": error}


def _stable_id(*parts, length=26):
    digest = hashlib.sha1("/".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:length]


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
        self._add_policy(customer, "gmail.per_user_outbound_gateway", {"allowUsersToUseExternalSmtpServers": False},
                         "/", "SYSTEM")
        for index, item in enumerate(spec.get("policies") or []):
            setting = str(item["setting"])
            if not catalogue.known(setting):
                raise ValueError("%s: google.policies[%d]: %s is not in Google's published list of Gmail "
                                 "settings (lab/unroute_lab/services/google_catalogue.py)"
                                 % (domain.name, index, setting))
            org_unit = self._ensure_org_unit(customer, str(item.get("org_unit") or "/"))
            self._add_policy(customer, setting, item.get("value") or {}, org_unit, item.get("type", "ADMIN"))
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

    def _add_policy(self, customer, setting, value, org_unit="/", policy_type="ADMIN"):
        bare = setting[len("settings/"):] if setting.startswith("settings/") else setting
        name = "policies/" + _stable_id(customer["id"], bare, org_unit, str(len(customer["policies"])))
        same_type = [p for p in customer["policies"].values() if p["setting"]["type"] == "settings/" + bare]
        ou_id = customer["org_units"].get(org_unit, org_unit)
        policy = {
            "name": name,
            "customer": "customers/" + customer["id"],
            "policyQuery": {"orgUnit": ou_id,
                            "query": "entity.org_units.exists(org_unit, org_unit.org_unit_id == orgUnitId('%s'))"
                                     % ou_id.split("/", 1)[1],
                            "sortOrder": float(len(same_type) + 1)},
            "setting": {"type": "settings/" + bare, "value": copy.deepcopy(value)},
            "type": policy_type,
        }
        customer["policies"][name] = policy
        return policy

    # -- lifecycle ---------------------------------------------------------------
    def start(self):
        service = self

        class Handler(_Handler):
            svc = service

        port = self.serve_https(Handler, "google")
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
                "audit_events": [reports.activity(c, e, self._profile_id(c, e["actor"]))
                                 for e in sorted(c["audit_events"], key=lambda e: e["time"], reverse=True)],
            } for c in self.customers.values()}}

    @staticmethod
    def _profile_id(customer, email):
        user = customer["directory_users"].get(email)
        return user["id"] if user else directory.user_id(customer, email)

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

    # -- Policy API --------------------------------------------------------------
    def _caller(self, header, write):
        grant = self.tokens.lookup(header)
        if grant is None:
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                "login cookie or other valid authentication credential. See "
                                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                           reason="ACCESS_TOKEN_TYPE_UNSUPPORTED")
        wanted = {SCOPE_POLICIES} if write else {SCOPE_POLICIES, SCOPE_POLICIES_RO}
        if not grant["scopes"] & wanted:
            raise ApiError(403, "Request had insufficient authentication scopes.",
                           reason="ACCESS_TOKEN_SCOPE_INSUFFICIENT")
        customer = self.customers[grant["customer"]]
        if grant["email"] not in customer["super_admins"]:
            raise ApiError(403, "The caller does not have permission")
        return customer

    def _resolve_customer(self, customer, name):
        cid = name.split("/", 1)[1] if name.startswith("customers/") else name
        if cid in ("my_customer", customer["id"]):
            return customer
        raise ApiError(403, "The caller does not have permission")

    def list_policies(self, header, query):
        customer = self._caller(header, write=False)
        text = query.get("filter", "")
        try:
            parsed = Filter(text)
        except FilterError as err:
            raise ApiError(400, str(err))
        if len(set(parsed.customers)) > 1:
            raise ApiError(400, "You may only filter on policies for a single customer at a time.")
        if parsed.customers:
            customer = self._resolve_customer(customer, parsed.customers[0])
        try:
            size = int(query.get("pageSize") or 0)
        except ValueError:
            raise ApiError(400, "Invalid value at 'page_size' (TYPE_INT32), \"%s\"" % query.get("pageSize"))
        size = 50 if size <= 0 else min(size, 100)
        if customer["page_size"]:
            size = min(size, int(customer["page_size"]))
        fingerprint = _stable_id(customer["id"], text, length=10)
        offset = 0
        if query.get("pageToken"):
            try:
                token_fp, offset_text = base64.urlsafe_b64decode(query["pageToken"].encode()).decode().split(":")
                offset = int(offset_text)
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "Invalid page token.")
            if token_fp != fingerprint:
                raise ApiError(400, "The page token does not match the previous request's parameters.")
        with self.lock:
            rows = sorted((p for p in customer["policies"].values() if parsed.match(p)),
                          key=lambda p: (p["setting"]["type"], p["policyQuery"]["sortOrder"], p["name"]))
            page = copy.deepcopy(rows[offset:offset + size])
        body = {"policies": page} if page else {}
        if offset + size < len(rows):
            body["nextPageToken"] = base64.urlsafe_b64encode(("%s:%d" % (fingerprint, offset + size)).encode()).decode()
        return body

    def _policy(self, customer, name):
        policy = customer["policies"].get(name)
        if policy is None:
            raise ApiError(404, "Requested entity was not found.")
        return policy

    def get_policy(self, header, name):
        customer = self._caller(header, write=False)
        with self.lock:
            return copy.deepcopy(self._policy(customer, name))

    def _check_mutable(self, customer, setting_type):
        if not catalogue.known(setting_type):
            raise ApiError(400, "Invalid setting type: %s" % setting_type)
        if not catalogue.mutate_supported(setting_type, customer["mutate_supported"]):
            raise ApiError(501, "Setting type %s is not supported in mutate endpoints." % setting_type)

    @staticmethod
    def _operation(response_type, response):
        body = {"name": "operations/" + secrets.token_hex(12), "done": True,
                "response": dict({"@type": response_type}, **response)}
        return body

    def create_policy(self, header, body):
        customer = self._caller(header, write=True)
        setting = (body or {}).get("setting") or {}
        self._resolve_customer(customer, body.get("customer") or "customers/my_customer")
        self._check_mutable(customer, setting.get("type"))
        org_unit = ((body.get("policyQuery") or {}).get("orgUnit")) or ""
        if org_unit not in customer["org_units"].values():
            raise ApiError(400, "policy_query.org_unit is required and must name an existing org unit.")
        if not isinstance(setting.get("value"), dict):
            raise ApiError(400, "setting.value is required.")
        with self.lock:
            path = [k for k, v in customer["org_units"].items() if v == org_unit][0]
            policy = self._add_policy(customer, setting["type"], setting["value"], path, "ADMIN")
            return self._operation("type.googleapis.com/google.apps.cloudidentity.policies.v1.Policy",
                                   copy.deepcopy(policy))

    def patch_policy(self, header, name, body):
        customer = self._caller(header, write=True)
        with self.lock:
            policy = self._policy(customer, name)
            setting = (body or {}).get("setting") or {}
            if setting.get("type") and setting["type"] != policy["setting"]["type"]:
                raise ApiError(400, "setting.type is immutable.")
            self._check_mutable(customer, policy["setting"]["type"])
            if policy["type"] == "SYSTEM":
                raise ApiError(400, "System policies cannot be modified; create an ADMIN policy instead.",
                               status="FAILED_PRECONDITION")
            if not isinstance(setting.get("value"), dict):
                raise ApiError(400, "setting.value is required.")
            policy["setting"]["value"] = copy.deepcopy(setting["value"])
            return self._operation("type.googleapis.com/google.apps.cloudidentity.policies.v1.Policy",
                                   copy.deepcopy(policy))

    def delete_policy(self, header, name):
        customer = self._caller(header, write=True)
        with self.lock:
            policy = self._policy(customer, name)
            self._check_mutable(customer, policy["setting"]["type"])
            if policy["type"] == "SYSTEM":
                raise ApiError(400, "System policies cannot be deleted.", status="FAILED_PRECONDITION")
            del customer["policies"][name]
            return self._operation("type.googleapis.com/google.protobuf.Empty", {})

    # -- Directory API orgunits (read) -----------------------------------------------
    def directory_call(self, header, method, arg, query_text):
        kind, first, second = arg
        query = {k: v[0] for k, v in parse_qs(query_text, keep_blank_values=True).items()}
        fields = directory.parse_fields(query.get("fields")) if query.get("fields") else None
        if kind == "users":
            customer = directory.caller(self.tokens, self.customers, header, None, directory.USER_SCOPES)
            if method != "GET":
                raise directory.DirectoryError(405, "Method not allowed in the lab (users are read only here)",
                                               "methodNotAllowed")
            with self.lock:
                return directory.select_fields(directory.list_users(customer, query), fields)
        if kind == "tokens":
            customer = directory.caller(self.tokens, self.customers, header, None, directory.TOKEN_SCOPES)
            with self.lock:
                if method == "GET" and second is None:
                    return directory.select_fields(directory.list_tokens(customer, first), fields)
                if method == "GET":
                    return directory.select_fields(directory.get_token(customer, first, second), fields)
                if method == "DELETE" and second is not None:
                    directory.delete_token(customer, first, second)
                    return None
            raise directory.DirectoryError(405, "Method not allowed", "methodNotAllowed")
        customer = directory.caller(self.tokens, self.customers, header, first)
        if method != "GET":
            raise directory.DirectoryError(405, "Method not allowed in the lab (orgunits are read only here)",
                                           "methodNotAllowed")
        with self.lock:
            if second is None:
                return directory.list_units(customer, query)
            return directory.get(customer, second)

    # -- Gmail API sendAs (read) ------------------------------------------------------------
    def gmail_call(self, header, method, arg):
        user_id, address = arg
        user = gmail.caller_user(self.tokens, self.customers, header, user_id)
        if method != "GET":
            raise directory.DirectoryError(405, "Method not allowed in the lab (sendAs is read only here)",
                                           "methodNotAllowed")
        with self.lock:
            if address is None:
                return {"sendAs": gmail.send_as_list(user)}
            return gmail.get(user, address)

    # -- Reports API (admin activity log) ------------------------------------------------
    def reports_call(self, header, method, arg, query_text):
        user_key, application = arg
        customer = directory.caller(self.tokens, self.customers, header, None, {reports.SCOPE_AUDIT_RO})
        if method != "GET":
            raise directory.DirectoryError(405, "Method not allowed", "methodNotAllowed")
        query = {k: v[0] for k, v in parse_qs(query_text, keep_blank_values=True).items()}
        with self.lock:
            return reports.list_activities(customer, user_key, application, query,
                                           lambda email: self._profile_id(customer, email))

    # -- legacy Admin Settings API -------------------------------------------------
    def legacy_customer(self, header, domain):
        grant = self.tokens.lookup(header)
        if grant is None:
            raise LegacyError(401, "Token invalid - Invalid token: Token not found")
        if SCOPE_ADMIN_SETTINGS not in grant["scopes"]:
            raise LegacyError(403, "Token invalid - AuthSub token has wrong scope")
        customer = self.by_domain(domain)
        if customer is not None and not customer["admin_settings_api"]:
            # What a retired GData feed answers is not documented; a plain 404 is the lab's assumption.
            raise LegacyError(404, "Not Found")
        if customer is None or customer["id"] != grant["customer"]:
            raise LegacyError(403, "You are not authorized to access this API")
        if grant["email"] not in customer["super_admins"]:
            raise LegacyError(403, "You are not authorized to access this API")
        return customer

    def gateway_entry(self, customer):
        href = "%sa/feeds/domain/2.0/%s/email/gateway" % (self.base_url, customer["domain"])
        entry = ET.Element("{%s}entry" % ATOM)
        ET.SubElement(entry, "{%s}id" % ATOM).text = href
        ET.SubElement(entry, "{%s}updated" % ATOM).text = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        ET.SubElement(entry, "{%s}link" % ATOM, rel="self", type="application/atom+xml", href=href)
        ET.SubElement(entry, "{%s}link" % ATOM, rel="edit", type="application/atom+xml", href=href)
        for key in ("smartHost", "smtpMode"):
            ET.SubElement(entry, "{%s}property" % APPS, name=key, value=customer["gateway"][key])
        return b"<?xml version='1.0' encoding='UTF-8'?>" + ET.tostring(entry)

    def put_gateway(self, customer, data):
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            raise LegacyError(400, "Content is not allowed in prolog.")
        props = {p.get("name"): p.get("value") for p in root.iter("{%s}property" % APPS)}
        if "smartHost" not in props or "smtpMode" not in props:
            raise LegacyError(400, _apps_error("1801", "", "InvalidValue"), xml=True)
        if props["smtpMode"] not in SMTP_MODES:
            raise LegacyError(400, _apps_error("1801", props["smtpMode"], "InvalidValue"), xml=True)
        with self.lock:
            customer["gateway"] = {"smartHost": props["smartHost"], "smtpMode": props["smtpMode"]}


class LegacyError(Exception):
    def __init__(self, code, text, xml=False):
        super().__init__(text)
        self.code = code
        self.text = text
        self.xml = xml


def _apps_error(code, invalid, reason):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<AppsForYourDomainErrors>\n  <error errorCode="%s" '
            'invalidInput="%s" reason="%s" />\n</AppsForYourDomainErrors>\n' % (code, invalid, reason))


class _Handler(BaseHTTPRequestHandler):
    svc = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, code, data, content_type="application/json; charset=UTF-8", headers=None):
        if not isinstance(data, bytes):
            data = json.dumps(data, indent=2).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_empty(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _fault(self, api):
        spec = self.svc.take_fault("429", "500", "502", "503", "403", api=api, method=self.command)
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
            self._send(code, directory.DirectoryError(code, "lab fault %d" % code, "backendError" if code >= 500
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
        if path == "/v1/policies":
            return "policy", None
        if path.startswith("/v1/policies/"):
            return "policy", "policies/" + unquote(path[len("/v1/policies/"):])
        found = directory.route(path)
        if found is not None:
            return "directory", found
        found = reports.route(path)
        if found is not None:
            return "reports", found
        found = gmail.route(path)
        if found is not None:
            return "gmail", found
        if path.startswith(LEGACY_PREFIX) and path.endswith("/email/gateway"):
            return "legacy", unquote(path[len(LEGACY_PREFIX):-len("/email/gateway")])
        return None, None

    def _handle(self):
        api, arg = self._route()
        if api is None:
            return self._send(404, ApiError(404, "Not Found").body())
        if self._fault(api):
            self._body()
            return None
        auth_header = self.headers.get("Authorization")
        try:
            if api == "token":
                if self.command != "POST":
                    return self._send(405, {"error": "invalid_request", "error_description": "POST only"})
                form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
                return self._send(200, self.svc.token(form))
            if api == "legacy":
                customer = self.svc.legacy_customer(auth_header, arg)
                if self.command == "PUT":
                    self.svc.put_gateway(customer, self._body())
                elif self.command != "GET":
                    raise LegacyError(405, "Method not allowed")
                return self._send(200, self.svc.gateway_entry(customer), "application/atom+xml; charset=UTF-8")
            if api == "directory":
                body = self.svc.directory_call(auth_header, self.command, arg, urlsplit(self.path).query)
                if body is None:
                    return self._send_empty(204)
                return self._send(200, body)
            if api == "gmail":
                return self._send(200, self.svc.gmail_call(auth_header, self.command, arg))
            if api == "reports":
                return self._send(200, self.svc.reports_call(auth_header, self.command, arg,
                                                             urlsplit(self.path).query))
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            body = self._body()
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                raise ApiError(400, "Invalid JSON payload received.")
            if arg is None and self.command == "GET":
                return self._send(200, self.svc.list_policies(auth_header, query))
            if arg is None and self.command == "POST":
                return self._send(200, self.svc.create_policy(auth_header, payload))
            if arg is not None and self.command == "GET":
                return self._send(200, self.svc.get_policy(auth_header, arg))
            if arg is not None and self.command == "PATCH":
                return self._send(200, self.svc.patch_policy(auth_header, arg, payload))
            if arg is not None and self.command == "DELETE":
                return self._send(200, self.svc.delete_policy(auth_header, arg))
            raise ApiError(404, "Not Found")
        except auth.OAuthError as err:
            return self._send(err.status, err.body())
        except ApiError as err:
            return self._send(err.code, err.body())
        except directory.DirectoryError as err:
            return self._send(err.code, err.body())
        except LegacyError as err:
            if err.xml:
                return self._send(err.code, err.text.encode(), "text/xml; charset=UTF-8")
            page = "<HTML>\n<HEAD>\n<TITLE>%s</TITLE>\n</HEAD>\n<BODY>\n<H1>%s</H1>\n</BODY>\n</HTML>\n" % (
                err.text, err.text)
            return self._send(err.code, page.encode(), "text/html; charset=UTF-8")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
