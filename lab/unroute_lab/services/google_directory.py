"""Admin SDK Directory API v1 for the emulated Google Workspace: ``orgunits`` (read side), ``users.list``
and a user's OAuth grants (``tokens.list/get/delete``).

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

- ``GET admin/directory/v1/users?customer=my_customer|<id>|domain=<d>&maxResults=1..500 (default 100)&pageToken=
  &orderBy=email&fields=`` -> ``{"kind": "admin#directory#users", "etag", "users": [User], "nextPageToken"}``
  (users/list); one of ``customer`` and ``domain`` is required. Scopes ``admin.directory.user`` or
  ``admin.directory.user.readonly``.
- ``GET admin/directory/v1/users/{userKey}/tokens`` -> ``{"kind": "admin#directory#tokenList", "etag", "items":
  [Token]}``; ``GET|DELETE .../tokens/{clientId}`` (DELETE answers 204 with no body); Token: ``clientId``,
  ``scopes``, ``userKey`` (the user's id), ``anonymous``, ``displayText``, ``nativeApp``, ``kind
  admin#directory#token``, ``etag``. Scope ``admin.directory.user.security`` (tokens/list, get, delete).
  ``userKey`` is the primary email or the user's id; an unknown user or client id is a 404 ``notFound``
  ("Resource Not Found: userKey" / "Resource Not Found: clientId" - the lab's approximation of the text).
- ``fields`` (Google's partial-response parameter, ``a,b(c,d)``) is honoured by the list calls.

The Policy API names the same unit ``orgUnits/<id>`` (no ``id:`` prefix). Error bodies carry the
Directory API's legacy ``errors`` array next to ``code``/``message``; the exact text of the 400 for a bad
``type`` could not be compared with a live answer and is an approximation.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, unquote

SCOPE_ORGUNIT = "https://www.googleapis.com/auth/admin.directory.orgunit"
SCOPE_ORGUNIT_RO = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly"
SCOPE_USER = "https://www.googleapis.com/auth/admin.directory.user"
SCOPE_USER_RO = "https://www.googleapis.com/auth/admin.directory.user.readonly"
SCOPE_USER_SECURITY = "https://www.googleapis.com/auth/admin.directory.user.security"
ORGUNIT_SCOPES = {SCOPE_ORGUNIT, SCOPE_ORGUNIT_RO}
USER_SCOPES = {SCOPE_USER, SCOPE_USER_RO}
TOKEN_SCOPES = {SCOPE_USER_SECURITY}
USERS_PATH = "/admin/directory/v1/users"
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
    """What a Directory URL path names, else None: ``("orgunits", customerId, unit or None)``,
    ``("users", None, None)``, ``("tokens", userKey, clientId or None)``."""
    if path == USERS_PATH:
        return "users", None, None
    if path.startswith(USERS_PATH + "/"):
        user, _, tail = path[len(USERS_PATH) + 1:].partition("/")
        if tail == "tokens":
            return "tokens", unquote(user), None
        if tail.startswith("tokens/") and "/" not in tail[len("tokens/"):]:
            return "tokens", unquote(user), unquote(tail[len("tokens/"):])
        return None
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX):]
    customer, _, tail = rest.partition("/")
    if tail == "orgunits":
        return "orgunits", unquote(customer), None
    if tail.startswith("orgunits/"):
        return "orgunits", unquote(customer), unquote(tail[len("orgunits/"):])
    return None


def caller(tokens, customers, header, customer_id, scopes=frozenset(ORGUNIT_SCOPES)):
    """The customer a Directory call may read, or DirectoryError as Google answers it."""
    grant = tokens.lookup(header)
    if grant is None:
        raise DirectoryError(401, "Login Required.", "required", status="UNAUTHENTICATED")
    if not grant["scopes"] & set(scopes):
        raise DirectoryError(403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                             status="PERMISSION_DENIED", scope_info=True)
    customer = customers[grant["customer"]]
    if grant["email"] not in customer["super_admins"]:
        raise DirectoryError(403, FORBIDDEN, "forbidden")
    if customer_id is not None and customer_id not in ("my_customer", customer["id"]):
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


# -- users and their OAuth grants -------------------------------------------------------------------
USER_PAGE_DEFAULT, USER_PAGE_MAX = 100, 500
ORDER_BY = ("email", "familyName", "givenName")


def user_id(customer, email):
    """A stable numeric id, as Google's (21 digits)."""
    digest = hashlib.sha1(("%s/%s" % (customer["id"], email)).encode()).hexdigest()
    return "1" + str(int(digest[:24], 16))[:20].rjust(20, "0")


def new_user(customer, email, org_unit="/", suspended=False, is_admin=False):
    local = email.split("@", 1)[0]
    return {"id": user_id(customer, email), "primaryEmail": email, "orgUnitPath": org_unit,
            "suspended": bool(suspended), "isAdmin": bool(is_admin),
            "name": {"givenName": local.capitalize(), "familyName": "Lab", "fullName": "%s Lab" % local.capitalize()},
            "grants": {}, "send_as": []}


def new_grant(user, client_id, display_text="", scopes=(), native_app=False, anonymous=False):
    return {"clientId": str(client_id), "displayText": str(display_text or client_id), "scopes": list(scopes),
            "nativeApp": bool(native_app), "anonymous": bool(anonymous), "userKey": user["id"]}


def user_resource(customer, user):
    body = {"kind": "admin#directory#user", "id": user["id"], "etag": _etag(customer["id"], "user", user["id"]),
            "primaryEmail": user["primaryEmail"], "name": dict(user["name"]), "isAdmin": user["isAdmin"],
            "isDelegatedAdmin": False, "suspended": user["suspended"], "orgUnitPath": user["orgUnitPath"],
            "customerId": customer["id"], "isMailboxSetup": True, "includeInGlobalAddressList": True,
            "emails": [{"address": user["primaryEmail"], "primary": True}]}
    return body


def token_resource(customer, user, grant):
    body = {"kind": "admin#directory#token", "etag": _etag(customer["id"], user["id"], grant["clientId"])}
    body.update((k, grant[k]) for k in ("clientId", "displayText", "scopes", "nativeApp", "anonymous", "userKey"))
    body["scopes"] = list(body["scopes"])
    return body


def _page_size(query, default, maximum, name="maxResults"):
    text = query.get(name)
    if text in (None, ""):
        return default
    try:
        size = int(text)
    except ValueError:
        raise DirectoryError(400, "Invalid value '%s'. Values must match the following regular expression: "
                                  "'[0-9]+'" % text, "invalidParameter", status="INVALID_ARGUMENT")
    if size < 1 or size > maximum:
        raise DirectoryError(400, "Invalid value '%d'. Values must be within the range: [1, %d]" % (size, maximum),
                             "invalidParameter", status="INVALID_ARGUMENT")
    return size


def page_token(binding, offset):
    return base64.urlsafe_b64encode(("%s:%d" % (binding, offset)).encode()).decode().rstrip("=")


def page_offset(token, binding):
    """The offset a page token stands for; 400 when it is not one of ours or belongs to other parameters."""
    if not token:
        return 0
    try:
        bound, offset = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().rsplit(":", 1)
        offset = int(offset)
    except (ValueError, UnicodeDecodeError):
        raise DirectoryError(400, "Invalid Input: pageToken", "invalid", status="INVALID_ARGUMENT")
    if bound != binding:
        raise DirectoryError(400, "Invalid Input: pageToken", "invalid", status="INVALID_ARGUMENT")
    return offset


def list_users(customer, query):
    """users.list for ``customer`` (the caller's own, checked by ``caller``)."""
    cust, domain = query.get("customer"), query.get("domain")
    if not cust and not domain:
        raise DirectoryError(400, "Bad Request", "badRequest", status="INVALID_ARGUMENT")
    if cust and cust not in ("my_customer", customer["id"]):
        raise DirectoryError(403, FORBIDDEN, "forbidden")
    if domain and domain != customer["domain"]:
        raise DirectoryError(403, FORBIDDEN, "forbidden")
    order = query.get("orderBy") or "email"
    if order not in ORDER_BY:
        raise DirectoryError(400, "Invalid Input: orderBy", "invalid", status="INVALID_ARGUMENT")
    size = _page_size(query, USER_PAGE_DEFAULT, USER_PAGE_MAX)
    if customer.get("user_page_size"):
        size = min(size, int(customer["user_page_size"]))
    binding = _etag(customer["id"], "users", cust or "", domain or "", order, query.get("sortOrder") or "")[1:13]
    offset = page_offset(query.get("pageToken"), binding)
    key = {"email": lambda u: u["primaryEmail"], "familyName": lambda u: u["name"]["familyName"],
           "givenName": lambda u: u["name"]["givenName"]}[order]
    rows = sorted(customer["directory_users"].values(), key=lambda u: (key(u), u["primaryEmail"]),
                  reverse=query.get("sortOrder") == "DESCENDING")
    body = {"kind": "admin#directory#users", "etag": _etag(customer["id"], "users", str(offset))}
    page = rows[offset:offset + size]
    if page:
        body["users"] = [user_resource(customer, u) for u in page]
    if offset + size < len(rows):
        body["nextPageToken"] = page_token(binding, offset + size)
    return body


def find_user(customer, key):
    key = (key or "").strip()
    for user in customer["directory_users"].values():
        if key.lower() == user["primaryEmail"].lower() or key == user["id"]:
            return user
    raise DirectoryError(404, "Resource Not Found: userKey", "notFound", status="NOT_FOUND")


def list_tokens(customer, user_key):
    user = find_user(customer, user_key)
    body = {"kind": "admin#directory#tokenList", "etag": _etag(customer["id"], "tokens", user["id"],
                                                                  *sorted(user["grants"]))}
    items = [token_resource(customer, user, g) for _, g in sorted(user["grants"].items())]
    if items:
        body["items"] = items
    return body


def get_token(customer, user_key, client_id):
    user = find_user(customer, user_key)
    grant = user["grants"].get(client_id)
    if grant is None:
        raise DirectoryError(404, "Resource Not Found: clientId", "notFound", status="NOT_FOUND")
    return token_resource(customer, user, grant)


def delete_token(customer, user_key, client_id):
    """Revokes every token ``user_key`` issued to ``client_id`` (the grant is gone until the user consents again)."""
    user = find_user(customer, user_key)
    if client_id not in user["grants"]:
        raise DirectoryError(404, "Resource Not Found: clientId", "notFound", status="NOT_FOUND")
    del user["grants"][client_id]


# -- partial responses (system parameter ``fields``) -----------------------------------------------------
def parse_fields(text):
    """``a,b(c,d/e)`` -> {"a": None, "b": {"c": None, "d": {"e": None}}}; None selects everything."""
    tree, stack, name = {}, [], ""
    node = tree

    def close(current, word):
        word = word.strip()
        if not word:
            return None
        parts = word.split("/")
        for part in parts[:-1]:
            if not isinstance(current.get(part), dict):
                current[part] = {}
            current = current[part]
        current.setdefault(parts[-1], None)
        return parts[-1], current

    for char in text or "":
        if char == ",":
            close(node, name)
            name = ""
        elif char == "(":
            found = close(node, name)
            name = ""
            if found is None:
                raise DirectoryError(400, "Invalid field selection", "invalidParameter", status="INVALID_ARGUMENT")
            key, parent = found
            if not isinstance(parent.get(key), dict):
                parent[key] = {}
            stack.append(node)
            node = parent[key]
        elif char == ")":
            close(node, name)
            name = ""
            if not stack:
                raise DirectoryError(400, "Invalid field selection", "invalidParameter", status="INVALID_ARGUMENT")
            node = stack.pop()
        else:
            name += char
    close(node, name)
    if stack:
        raise DirectoryError(400, "Invalid field selection", "invalidParameter", status="INVALID_ARGUMENT")
    return tree or None


def select_fields(body, tree):
    if tree is None:
        return body
    if isinstance(body, list):
        return [select_fields(item, tree) for item in body]
    if not isinstance(body, dict):
        return body
    return dict((k, select_fields(body[k], sub)) for k, sub in tree.items() if k in body)


def read_only(method, message="Method not allowed"):
    """The 405 every read-only resource of the lab answers to a write."""
    if method != "GET":
        raise DirectoryError(405, message, "methodNotAllowed")


def profile_id(customer, email):
    user = customer["directory_users"].get(email)
    return user["id"] if user else user_id(customer, email)


def call(svc, header, method, arg, query_text):
    """One Directory API request (``arg`` from route()); None for an answer with no body (204)."""
    kind, first, second = arg
    query = {k: v[0] for k, v in parse_qs(query_text, keep_blank_values=True).items()}
    fields = parse_fields(query.get("fields")) if query.get("fields") else None
    if kind == "users":
        customer = caller(svc.tokens, svc.customers, header, None, USER_SCOPES)
        read_only(method, "Method not allowed in the lab (users are read only here)")
        with svc.lock:
            return select_fields(list_users(customer, query), fields)
    if kind == "tokens":
        customer = caller(svc.tokens, svc.customers, header, None, TOKEN_SCOPES)
        with svc.lock:
            if method == "GET" and second is None:
                return select_fields(list_tokens(customer, first), fields)
            if method == "GET":
                return select_fields(get_token(customer, first, second), fields)
            if method == "DELETE" and second is not None:
                delete_token(customer, first, second)
                return None
        raise DirectoryError(405, "Method not allowed", "methodNotAllowed")
    customer = caller(svc.tokens, svc.customers, header, first)
    read_only(method, "Method not allowed in the lab (orgunits are read only here)")
    with svc.lock:
        if second is None:
            return list_units(customer, query)
        return get(customer, second)
