"""Admin SDK Directory API v1 ``orgunits`` (read side) for the emulated Google Workspace.

Wire format from Google's reference (developers.google.com/workspace/admin/directory/reference/rest/v1/orgunits,
orgunits/list and orgunits/get) and the ``admin directory_v1`` discovery document shipped with
google-api-python-client:

- ``GET admin/directory/v1/customer/{customerId}/orgunits?orgUnitPath=&type=children|all|allIncludingParent``
  -> ``{"kind": "admin#directory#orgUnits", "etag", "organizationUnits": [OrgUnit]}`` (no paging);
- ``GET admin/directory/v1/customer/{customerId}/orgunits/{+orgUnitPath}`` where the path is the full path
  minus the leading ``/`` or ``id:<id>`` -> OrgUnit;
- OrgUnit: ``kind admin#directory#orgUnit``, ``etag``, ``name``, ``description``, ``orgUnitPath``,
  ``orgUnitId`` (``id:...``), ``parentOrgUnitPath``, ``parentOrgUnitId`` (absent on the top level).
- Scopes: ``admin.directory.orgunit`` or ``admin.directory.orgunit.readonly``; only administrators.

The Policy API names the same unit ``orgUnits/<id>`` (no ``id:`` prefix). Error bodies carry the
Directory API's legacy ``errors`` array next to ``code``/``message``; the exact text of the 400 for a bad
``type`` could not be compared with a live answer and is an approximation.
"""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

SCOPE_ORGUNIT = "https://www.googleapis.com/auth/admin.directory.orgunit"
SCOPE_ORGUNIT_RO = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly"
PREFIX = "/admin/directory/v1/customer/"
LIST_TYPES = ("children", "all", "allIncludingParent")


class DirectoryError(Exception):
    def __init__(self, code, message, reason, status=None, scope_info=False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status
        self.scope_info = scope_info

    def body(self):
        error = {"code": self.code, "message": self.message,
                 "errors": [{"message": self.message if not self.scope_info else "Insufficient Permission",
                             "domain": "global", "reason": self.reason}]}
        if self.status:
            error["status"] = self.status
        if self.scope_info:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                                 "metadata": {"service": "admin.googleapis.com"}}]
        return {"error": error}


FORBIDDEN = "Not Authorized to access this resource/api"


def route(path):
    """(customerId, unit or None) for an orgunits URL path, else None."""
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX):]
    customer, _, tail = rest.partition("/")
    if tail == "orgunits":
        return unquote(customer), None
    if tail.startswith("orgunits/"):
        return unquote(customer), unquote(tail[len("orgunits/"):])
    return None


def caller(tokens, customers, header, customer_id):
    """The customer a Directory call may read, or DirectoryError as Google answers it."""
    grant = tokens.lookup(header)
    if grant is None:
        raise DirectoryError(401, "Login Required.", "required", status="UNAUTHENTICATED")
    if not grant["scopes"] & {SCOPE_ORGUNIT, SCOPE_ORGUNIT_RO}:
        raise DirectoryError(403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                             status="PERMISSION_DENIED", scope_info=True)
    customer = customers[grant["customer"]]
    if grant["email"] not in customer["super_admins"]:
        raise DirectoryError(403, FORBIDDEN, "forbidden")
    if customer_id not in ("my_customer", customer["id"]):
        raise DirectoryError(403, FORBIDDEN, "forbidden")
    return customer


def _bare_id(ref):
    return ref.split("/", 1)[1]


def _etag(*parts):
    return '"%s"' % hashlib.sha1("/".join(parts).encode()).hexdigest()[:27]


def org_unit(customer, path):
    """The OrgUnit resource for ``path`` (a key of customer["org_units"])."""
    ref = customer["org_units"][path]
    body = {"kind": "admin#directory#orgUnit", "etag": _etag(customer["id"], path, ref),
            "name": customer["org_name"] if path == "/" else path.rsplit("/", 1)[1],
            "description": "", "orgUnitPath": path, "orgUnitId": "id:" + _bare_id(ref)}
    if path != "/":
        parent = path.rsplit("/", 1)[0] or "/"
        body["parentOrgUnitPath"] = parent
        body["parentOrgUnitId"] = "id:" + _bare_id(customer["org_units"][parent])
    return body


def find(customer, key):
    """The path of the unit ``key`` names: ``id:<id>``, a full path with or without the leading ``/``."""
    key = (key or "").strip()
    if key.startswith("id:"):
        for path, ref in customer["org_units"].items():
            if _bare_id(ref) == key[3:]:
                return path
        return None
    path = "/" + key.strip("/")
    return path if path in customer["org_units"] else None


def get(customer, key):
    path = find(customer, key)
    if path is None:
        raise DirectoryError(404, "Org unit not found", "notFound")
    return org_unit(customer, path)


def list_units(customer, query):
    kind = query.get("type") or "children"
    if kind not in LIST_TYPES:
        raise DirectoryError(400, "Invalid value for: type", "invalid", status="INVALID_ARGUMENT")
    top = find(customer, query.get("orgUnitPath") or "/")
    if top is None:
        raise DirectoryError(404, "Org unit not found", "notFound")
    prefix = "/" if top == "/" else top + "/"
    paths = []
    for path in sorted(customer["org_units"]):
        if path == top:
            if kind == "allIncludingParent":
                paths.append(path)
            continue
        if not path.startswith(prefix):
            continue
        if kind == "children" and "/" in path[len(prefix):]:
            continue
        paths.append(path)
    body = {"kind": "admin#directory#orgUnits", "etag": _etag(customer["id"], kind, top)}
    if paths:
        body["organizationUnits"] = [org_unit(customer, p) for p in paths]
    return body
