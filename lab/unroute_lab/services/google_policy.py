"""Cloud Identity Policy API v1 (``policies.list/get/create/patch/delete``) for the emulated Google Workspace.

Wire format from /work/shared/reference/google-workspace.md and the v1 discovery document: Policy resources,
Operation answers for the mutations (done at once), google.rpc error bodies. A caller is a super admin
with a policies scope; only the setting types the customer's ``mutate_supported`` lists may be written.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
from urllib.parse import unquote

from . import google_catalogue as catalogue
from .google_filter import Filter, FilterError

SCOPE_POLICIES = "https://www.googleapis.com/auth/cloud-identity.policies"
SCOPE_POLICIES_RO = "https://www.googleapis.com/auth/cloud-identity.policies.readonly"
PREFIX = "/v1/policies"

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


def stable_id(*parts, length=26):
    digest = hashlib.sha1("/".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:length]


def route(path):
    """``""`` for the collection, ``policies/ID`` for one policy, None when the path is not this API's."""
    if path == PREFIX:
        return ""
    if path.startswith(PREFIX + "/"):
        return "policies/" + unquote(path[len(PREFIX) + 1:])
    return None


def call(svc, header, method, name, query, payload):
    """One request on the collection (``name`` empty) or on a policy."""
    if not name and method == "GET":
        return list_policies(svc, header, query)
    if not name and method == "POST":
        return create_policy(svc, header, payload)
    if name and method == "GET":
        return get_policy(svc, header, name)
    if name and method == "PATCH":
        return patch_policy(svc, header, name, payload)
    if name and method == "DELETE":
        return delete_policy(svc, header, name)
    raise ApiError(404, "Not Found")


def add_policy(customer, setting, value, org_unit="/", policy_type="ADMIN"):
    bare = setting[len("settings/"):] if setting.startswith("settings/") else setting
    name = "policies/" + stable_id(customer["id"], bare, org_unit, str(len(customer["policies"])))
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


def _caller(svc, header, write):
    grant = svc.tokens.lookup(header)
    if grant is None:
        raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                            "login cookie or other valid authentication credential. See "
                            "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                       reason="ACCESS_TOKEN_TYPE_UNSUPPORTED")
    wanted = {SCOPE_POLICIES} if write else {SCOPE_POLICIES, SCOPE_POLICIES_RO}
    if not grant["scopes"] & wanted:
        raise ApiError(403, "Request had insufficient authentication scopes.",
                       reason="ACCESS_TOKEN_SCOPE_INSUFFICIENT")
    customer = svc.customers[grant["customer"]]
    if grant["email"] not in customer["super_admins"]:
        raise ApiError(403, "The caller does not have permission")
    return customer

def _resolve_customer(customer, name):
    cid = name.split("/", 1)[1] if name.startswith("customers/") else name
    if cid in ("my_customer", customer["id"]):
        return customer
    raise ApiError(403, "The caller does not have permission")

def list_policies(svc, header, query):
    customer = _caller(svc, header, write=False)
    text = query.get("filter", "")
    try:
        parsed = Filter(text)
    except FilterError as err:
        raise ApiError(400, str(err))
    if len(set(parsed.customers)) > 1:
        raise ApiError(400, "You may only filter on policies for a single customer at a time.")
    if parsed.customers:
        customer = _resolve_customer(customer, parsed.customers[0])
    try:
        size = int(query.get("pageSize") or 0)
    except ValueError:
        raise ApiError(400, "Invalid value at 'page_size' (TYPE_INT32), \"%s\"" % query.get("pageSize"))
    size = 50 if size <= 0 else min(size, 100)
    if customer["page_size"]:
        size = min(size, int(customer["page_size"]))
    fingerprint = stable_id(customer["id"], text, length=10)
    offset = 0
    if query.get("pageToken"):
        try:
            token_fp, offset_text = base64.urlsafe_b64decode(query["pageToken"].encode()).decode().split(":")
            offset = int(offset_text)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Invalid page token.")
        if token_fp != fingerprint:
            raise ApiError(400, "The page token does not match the previous request's parameters.")
    with svc.lock:
        rows = sorted((p for p in customer["policies"].values() if parsed.match(p)),
                      key=lambda p: (p["setting"]["type"], p["policyQuery"]["sortOrder"], p["name"]))
        page = copy.deepcopy(rows[offset:offset + size])
    body = {"policies": page} if page else {}
    if offset + size < len(rows):
        body["nextPageToken"] = base64.urlsafe_b64encode(("%s:%d" % (fingerprint, offset + size)).encode()).decode()
    return body

def _policy(customer, name):
    policy = customer["policies"].get(name)
    if policy is None:
        raise ApiError(404, "Requested entity was not found.")
    return policy

def get_policy(svc, header, name):
    customer = _caller(svc, header, write=False)
    with svc.lock:
        return copy.deepcopy(_policy(customer, name))

def _check_mutable(customer, setting_type):
    if not catalogue.known(setting_type):
        raise ApiError(400, "Invalid setting type: %s" % setting_type)
    if not catalogue.mutate_supported(setting_type, customer["mutate_supported"]):
        raise ApiError(501, "Setting type %s is not supported in mutate endpoints." % setting_type)

def _operation(response_type, response):
    body = {"name": "operations/" + secrets.token_hex(12), "done": True,
            "response": dict({"@type": response_type}, **response)}
    return body

def create_policy(svc, header, body):
    customer = _caller(svc, header, write=True)
    setting = (body or {}).get("setting") or {}
    _resolve_customer(customer, body.get("customer") or "customers/my_customer")
    _check_mutable(customer, setting.get("type"))
    org_unit = ((body.get("policyQuery") or {}).get("orgUnit")) or ""
    if org_unit not in customer["org_units"].values():
        raise ApiError(400, "policy_query.org_unit is required and must name an existing org unit.")
    if not isinstance(setting.get("value"), dict):
        raise ApiError(400, "setting.value is required.")
    with svc.lock:
        path = [k for k, v in customer["org_units"].items() if v == org_unit][0]
        policy = add_policy(customer, setting["type"], setting["value"], path, "ADMIN")
        return _operation("type.googleapis.com/google.apps.cloudidentity.policies.v1.Policy",
                               copy.deepcopy(policy))

def patch_policy(svc, header, name, body):
    customer = _caller(svc, header, write=True)
    with svc.lock:
        policy = _policy(customer, name)
        setting = (body or {}).get("setting") or {}
        if setting.get("type") and setting["type"] != policy["setting"]["type"]:
            raise ApiError(400, "setting.type is immutable.")
        _check_mutable(customer, policy["setting"]["type"])
        if policy["type"] == "SYSTEM":
            raise ApiError(400, "System policies cannot be modified; create an ADMIN policy instead.",
                           status="FAILED_PRECONDITION")
        if not isinstance(setting.get("value"), dict):
            raise ApiError(400, "setting.value is required.")
        policy["setting"]["value"] = copy.deepcopy(setting["value"])
        return _operation("type.googleapis.com/google.apps.cloudidentity.policies.v1.Policy",
                               copy.deepcopy(policy))

def delete_policy(svc, header, name):
    customer = _caller(svc, header, write=True)
    with svc.lock:
        policy = _policy(customer, name)
        _check_mutable(customer, policy["setting"]["type"])
        if policy["type"] == "SYSTEM":
            raise ApiError(400, "System policies cannot be deleted.", status="FAILED_PRECONDITION")
        del customer["policies"][name]
        return _operation("type.googleapis.com/google.protobuf.Empty", {})
