"""A Cloudflare API v4 emulator for the lab's Cloudflare zones, written from Cloudflare's public API reference.

Covered: zone lookup by name (``GET /zones``), DNS records list with the ``type``, ``name`` (and its
``.exact``/``.startswith``/``.endswith``/``.contains`` forms) and ``content`` filters and page/per_page pagination (``result_info``), create, get, patch, overwrite and delete by id,
``POST /zones/{zone_id}/dns_records/batch`` (deletes, patches, puts, posts, in that order, all or nothing),
the envelope ``{"success", "errors", "messages", "result"}``, 401 for an unknown token and 403 for a token
without DNS Edit (writes) or without the zone, and 429 with Retry-After as a switchable fault.
Read-only token endpoints: ``GET /user/tokens/verify`` (the token's id and status) and ``GET /user/tokens/{id}``
(its policies: permission groups and resources), which needs a token holding "API Tokens Read" and answers
403 code 9109 otherwise. Tokens: ``edit`` (Zone Read, DNS Write on every zone, API Tokens Read), ``read`` (Zone
Read, DNS Read) and ``other_zone`` (the edit token's permissions on a zone of another account only); an estate
domain picks one with ``dns: {cloudflare_token: ...}`` (default ``edit``).
Records are one per value, as at Cloudflare: TXT content is one string; MX keeps its priority apart.
A record identical to one the zone holds (same type, name, content and priority) is refused with HTTP 400 and
code 81058 "An identical record already exists." (the answer current public client logs show, for creates and
PATCHes alike; older logs show 81057 "The record already exists."), whether from a create, an update or a batch.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import time
import urllib.parse
from .base import Budget, LabHandler

import dns.rdata
import dns.rdataclass
import dns.rdatatype
from dns.rdtypes.ANY.TXT import TXT

from .hosted_dns import HostedDnsService, dump_lines, rrsets

PREFIX = "/client/v4"
_WRITE = ("POST", "PATCH", "PUT", "DELETE")


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def content_of(rdtype, value):
    """Cloudflare's record fields for a presentation value of the estate."""
    if rdtype == "MX":
        pref, exchange = value.split(None, 1)
        return {"content": exchange.rstrip("."), "priority": int(pref)}
    if rdtype == "TXT":
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, value)
        return {"content": b"".join(rdata.strings).decode("utf-8", "replace")}
    if rdtype in ("CNAME", "NS"):
        return {"content": value.rstrip(".")}
    return {"content": value}


def presentation(record):
    """A record back as one presentation value (for dumps)."""
    if record["type"] == "MX":
        return "%d %s." % (record["priority"], record["content"])
    if record["type"] == "TXT":
        data = record["content"].encode()
        chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
        return TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks).to_text()
    if record["type"] in ("CNAME", "NS"):
        return record["content"] + "."
    return record["content"]


class CloudflareService(HostedDnsService):
    # "If you exceed this limit, all API calls for the next five minutes will be blocked" (API rate limits).
    budget_defaults = {"block": 300}

    name = "cloudflare"

    def start(self):
        self.dir = self.workdir()
        self.zones = {}
        for domain in self.domains():
            self.create_zone(domain)
        # One token with Zone Read + DNS Edit on every zone, one with Zone Read and DNS Read only, one whose
        # policies name only a zone outside this lab (a token made for another customer).
        self.tokens = {secrets.token_urlsafe(30): "edit", secrets.token_urlsafe(30): "read",
                       secrets.token_urlsafe(30): "other_zone"}
        self.token_ids = dict((token, secrets.token_hex(16)) for token in self.tokens)
        self.token_files = {}
        for token, scope in self.tokens.items():
            path = self.dir / ("api-token-%s" % scope)
            fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(token + "\n")
            self.token_files[scope] = path
        self.url = "http://127.0.0.1:%d%s" % (self.serve_http(_Handler), PREFIX)
        return {"url": self.url, "endpoint": self.url, "api_token_file": str(self.token_files["edit"]),
                "read_only_token_file": str(self.token_files["read"]),
                "zones": {z["name"]: z["id"] for z in self.zones.values()}}

    def create_zone(self, domain):
        zone_id = secrets.token_hex(16)
        zone = {"id": zone_id, "name": domain.name, "status": "active", "paused": False, "type": "full",
                "name_servers": [ns.rstrip(".") for ns in domain.nameservers], "created_on": _now(),
                "modified_on": _now(), "records": {}}
        for name, rdtype, ttl, values in rrsets(domain):
            for value in values:
                self._new_record(zone, dict(content_of(rdtype, value), type=rdtype, name=name.rstrip("."), ttl=ttl))
        self.zones[zone_id] = zone

    # -- records -------------------------------------------------------------------------------------
    def _full_name(self, zone, name):
        name = str(name or "").strip().rstrip(".").lower()
        if name in ("", "@"):
            return zone["name"]
        if name == zone["name"] or name.endswith("." + zone["name"]):
            return name
        return "%s.%s" % (name, zone["name"])

    def _check(self, zone, body, partial=None):
        record = dict(partial or {})
        record.update({k: v for k, v in body.items() if k in ("type", "name", "content", "ttl", "priority",
                                                               "proxied", "comment", "tags")})
        if not record.get("type") or not record.get("name") or record.get("content") in (None, ""):
            raise ApiError(400, 9000, "DNS name, type and content are required.")
        record["type"] = str(record["type"]).upper()
        record["name"] = self._full_name(zone, record["name"])
        ttl = int(record.get("ttl") or 1)
        if ttl != 1 and not 60 <= ttl <= 86400:
            raise ApiError(400, 9003, "Invalid 'ttl' setting.")
        record["ttl"] = ttl
        if record["type"] == "MX":
            if record.get("priority") is None:
                raise ApiError(400, 9100, "Priority must be set for MX record.")
            record["priority"] = int(record["priority"])
        if record["type"] == "TXT" and len(record["content"]) > 2048:
            raise ApiError(400, 9100, "DNS record content is too long.")
        return record

    @staticmethod
    def _same(a, b):
        def content(record):
            # Host names compare without case (RFC 4343); text is text.
            text = str(record["content"])
            return text.lower().rstrip(".") if record["type"] in ("MX", "CNAME", "NS") else text
        return (a["type"] == b["type"] and a["name"].lower() == b["name"].lower() and content(a) == content(b)
                and a.get("priority") == b.get("priority"))

    def _refuse_identical(self, zone, record, own_id=None):
        """Cloudflare keeps no two identical records in a zone (the check the lab once lacked: it made a copy)."""
        for other in zone["records"].values():
            if other["id"] != own_id and self._same(other, record):
                raise ApiError(400, 81058, "An identical record already exists.")

    def _update(self, zone, record, body, partial):
        updated = self._check(zone, body, record if partial else None)
        self._refuse_identical(zone, updated, record["id"])
        record.update(updated, modified_on=_now())
        return record

    def _new_record(self, zone, body):
        record = self._check(zone, body)
        self._refuse_identical(zone, record)
        record.update(id=secrets.token_hex(16), zone_id=zone["id"], zone_name=zone["name"],
                      proxiable=record["type"] in ("A", "AAAA", "CNAME"), proxied=bool(record.get("proxied")),
                      settings={}, meta={}, comment=record.get("comment"), tags=record.get("tags") or [],
                      created_on=_now(), modified_on=_now())
        zone["records"][record["id"]] = record
        return record

    def batch(self, zone, body):
        """All or nothing: every operation is applied to a copy, which replaces the zone's records at the end."""
        saved = copy.deepcopy(zone["records"])
        out = {"deletes": [], "patches": [], "puts": [], "posts": []}
        try:
            for item in body.get("deletes") or []:
                out["deletes"].append(self._take(zone, item.get("id")))
            for item in body.get("patches") or []:
                out["patches"].append(self._update(zone, self._get(zone, item.get("id")), item, True))
            for item in body.get("puts") or []:
                out["puts"].append(self._update(zone, self._get(zone, item.get("id")), item, False))
            for item in body.get("posts") or []:
                out["posts"].append(self._new_record(zone, item))
        except ApiError:
            zone["records"] = saved
            raise
        return out

    def _get(self, zone, record_id):
        if record_id not in zone["records"]:
            raise ApiError(404, 81044, "Record does not exist.")
        return zone["records"][record_id]

    def _take(self, zone, record_id):
        self._get(zone, record_id)
        return {"id": zone["records"].pop(record_id)["id"]}

    def records(self, zone):
        for item in self.zones.values():
            if item["name"] == zone:
                return dump_lines((r["name"] + ".", r["type"], r["ttl"], [presentation(r)])
                                  for r in item["records"].values())
        raise KeyError(zone)

    def host_vars(self, domain):
        if domain.dns_provider != self.provider:
            return {}
        return {"unroute_dns_provider": "cloudflare", "unroute_dns_cloudflare_api_url": self.url,
                "unroute_dns_cloudflare_api_token": "{{ lookup('ansible.builtin.file', '%s') }}"
                                                    % self.token_files[domain.dns.get("cloudflare_token", "edit")]}

    def token_policies(self, token):
        """The token's policies as GET /user/tokens/{id} shows them (permission group names as in the dashboard)."""
        scope = self.tokens[token]
        if scope == "other_zone":
            resources = {"com.cloudflare.api.account.zone.%s" % ("0" * 32): "*"}
        else:
            resources = {"com.cloudflare.api.account.zone.*": "*"}
        groups = ["Zone Read", "DNS Write" if scope in ("edit", "other_zone") else "DNS Read"]
        out = [{"id": "p" + self.token_ids[token][:31], "effect": "allow", "resources": resources,
                "permission_groups": [{"id": secrets.token_hex(16), "name": name} for name in groups]}]
        if scope == "edit":
            out.append({"id": "u" + self.token_ids[token][:31], "effect": "allow",
                        "resources": {"com.cloudflare.api.user.%s" % ("1" * 32): "*"},
                        "permission_groups": [{"id": secrets.token_hex(16), "name": "API Tokens Read"}]})
        return out

    def sees(self, token, zone):
        return self.tokens[token] != "other_zone"


class _Handler(LabHandler):
    def _error(self, err, headers=()):
        self.send_json(err.status, {"success": False, "errors": [{"code": err.code, "message": err.message}],
                                "messages": [], "result": None}, headers)

    def _ok(self, result, info=None):
        body = {"success": True, "errors": [], "messages": [], "result": result}
        if info is not None:
            body["result_info"] = info
        self.send_json(200, body)

    def _handle(self):
        svc = self.svc
        try:
            raw = self.read_body()
            fault = svc.take_fault("429")
            if fault:
                retry = str(fault.get("retry_after", 1))
                return self._error(ApiError(429, 971, "Please wait and consider throttling your request speed"),
                                   [("Retry-After", retry)])
            auth = self.headers.get("Authorization") or ""
            if svc.budget is not None:
                # Counted per token, whatever the call; over the limit every call is refused until the block ends.
                wait = svc.budget.take(auth)
                if wait is not None:
                    return self._error(ApiError(429, 971, "Please wait and consider throttling your request speed"),
                                       [("Retry-After", Budget.seconds(wait))])
            if not auth:
                raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
            token = auth[7:] if auth.startswith("Bearer ") else None
            scope = svc.tokens.get(token)
            if scope is None:
                if self.path.startswith(PREFIX + "/user/tokens/verify"):
                    raise ApiError(401, 1000, "Invalid API Token")
                raise ApiError(401, 10000, "Authentication error")
            self.token = token
            url = urllib.parse.urlsplit(self.path)
            if not url.path.startswith(PREFIX + "/"):
                raise ApiError(404, 7000, "No route for that URI")
            parts = url.path[len(PREFIX) + 1:].rstrip("/").split("/")
            query = dict(urllib.parse.parse_qsl(url.query))
            if self.command in _WRITE and scope != "edit":
                raise ApiError(403, 10000, "Authentication error")
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise ApiError(400, 9207, "Request body is invalid.")
            with svc.lock:
                return self._route(parts, query, body)
        except ApiError as err:
            return self._error(err)

    def _route(self, parts, query, body):
        svc = self.svc
        if parts[:2] == ["user", "tokens"] and len(parts) == 3 and self.command == "GET":
            return self._token(parts[2])
        if parts == ["zones"] and self.command == "GET":
            zones = [z for z in svc.zones.values() if ("name" not in query or z["name"] == query["name"].lower())
                     and svc.sees(self.token, z)]
            return self._page([{k: v for k, v in z.items() if k != "records"} for z in zones], query, 20, 50)
        if len(parts) < 3 or parts[0] != "zones" or parts[2] != "dns_records":
            raise ApiError(404, 7000, "No route for that URI")
        zone = svc.zones.get(parts[1])
        if zone is not None and not svc.sees(self.token, zone):
            raise ApiError(403, 10000, "Authentication error")
        if zone is None:
            raise ApiError(404, 7003, "Could not route to /zones/%s/dns_records, perhaps your object identifier "
                                      "is invalid?" % parts[1])
        rest = parts[3:]
        if not rest and self.command == "GET":
            records = sorted(zone["records"].values(), key=lambda r: (r["type"], r["name"], r["content"], r["id"]))
            for key in ("type", "content"):
                value = query.get(key) or query.get(key + ".exact")
                if value:
                    records = [r for r in records if str(r[key]).lower() == value.lower()]
            name = query.get("name") or query.get("name.exact")
            if name:
                records = [r for r in records if r["name"] == svc._full_name(zone, name)]
            # The documented partial-name filters (case-insensitive).
            for key, test in (("name.endswith", str.endswith), ("name.startswith", str.startswith),
                              ("name.contains", lambda a, b: b in a)):
                if query.get(key):
                    records = [r for r in records if test(r["name"].lower(), query[key].lower())]
            return self._page(records, query, 100, 5000000)
        if not rest and self.command == "POST":
            return self._ok(svc._new_record(zone, body))
        if rest == ["batch"] and self.command == "POST":
            return self._ok(svc.batch(zone, body))
        if len(rest) == 1:
            record = svc._get(zone, rest[0])
            if self.command == "GET":
                return self._ok(record)
            if self.command == "DELETE":
                return self._ok(svc._take(zone, rest[0]))
            if self.command in ("PATCH", "PUT"):
                return self._ok(svc._update(zone, record, body, self.command == "PATCH"))
        raise ApiError(405, 10405, "Method not allowed")

    def _token(self, which):
        svc = self.svc
        own = svc.token_ids[self.token]
        if which == "verify":
            body = {"success": True, "errors": [], "messages": [{"code": 10000, "message": "This API Token is valid "
                                                                 "and active", "type": None}],
                    "result": {"id": own, "status": "active"}}
            return self.send_json(200, body)
        if svc.tokens[self.token] != "edit":
            raise ApiError(403, 9109, "Unauthorized to access requested resource")
        token = next((t for t, i in svc.token_ids.items() if i == which), None)
        if token is None:
            raise ApiError(404, 1003, "Token not found")
        return self._ok({"id": which, "name": "unroute lab %s" % svc.tokens[token], "status": "active",
                         "issued_on": "2026-01-01T00:00:00Z", "modified_on": "2026-01-01T00:00:00Z",
                         "policies": svc.token_policies(token)})

    def _page(self, items, query, default, largest):
        try:
            page = max(1, int(query.get("page", 1)))
            per_page = int(query.get("per_page", default))
        except ValueError:
            raise ApiError(400, 1001, "Invalid pagination parameters")
        if not 5 <= per_page <= largest:
            raise ApiError(400, 1001, "per_page must be between 5 and %d" % largest)
        chunk = items[(page - 1) * per_page:page * per_page]
        total_pages = max(1, -(-len(items) // per_page))
        self._ok(chunk, {"page": page, "per_page": per_page, "count": len(chunk), "total_count": len(items),
                         "total_pages": total_pages})

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle
