# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloudflare DNS through its REST API v4, over ``requests``.

Plain REST rather than the official SDK: five endpoints, errors mapped to one line here, and no generated
client whose interface changes between major versions. Cloudflare keeps one record per value, each with an
id and no version token: a change deletes (or patches) the records it read by id, in one batch that
Cloudflare runs as one database transaction, so another writer's records are never touched; the RRset is
compared right before the batch and read again after it.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.mxhero.unroute.plugins.module_utils import _budget
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    READ_VERIFY, ZONE_TYPES, CredentialsRefused, PrerequisiteFailed, RRset, ZoneNotFound, grouped)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rest import RestProvider

DEFAULT_URL = "https://api.cloudflare.com/client/v4"
_PER_PAGE = 100
# A whole-zone read asks for large pages (the dns_records list allows far more than 100 a page).
_ZONE_PAGE = 5000


class CloudflareProvider(RestProvider):
    name = "cloudflare"
    guarantee = READ_VERIFY
    # The names of Cloudflare's own SDK and tools.
    options = dict(
        cloudflare_api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["CLOUDFLARE_API_TOKEN"])),
        cloudflare_api_url=dict(type="str", default=DEFAULT_URL),
    )
    required = ("cloudflare_api_token",)

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        return cls(zone, params["cloudflare_api_token"], params.get("cloudflare_api_url") or DEFAULT_URL,
                   timeout=params["timeout"])

    def __init__(self, zone, api_token, api_url=DEFAULT_URL, timeout=10.0, retry=None):
        self.zone_text = validate.domain_of(zone)
        self.zone_fqdn = validate.fqdn(zone)
        self.where = api_url.rstrip("/")
        self.connect("the Cloudflare API at %s" % self.where, self.where, {"Authorization": "Bearer %s" % api_token},
                     timeout, retry)
        self.zone_id = None
        self.ids = {}
        # Cloudflare counts per token; in unroute_budgets the token is named by its hash's first 12 digits.
        self.account = ("cloudflare", "%s %s" % (self.where, api_token), _budget.label_of(api_token))

    def _fail(self, status, body, what):
        errors = (body or {}).get("errors") if isinstance(body, dict) else None
        text = "; ".join("%s %s" % (e.get("code"), e.get("message")) for e in errors or []) or "HTTP %d" % status
        if status in (401, 403):
            raise CredentialsRefused(self.zone_text, what, "Cloudflare refused the API token (HTTP %d: %s)"
                                     % (status, text))
        raise UnrouteError(self.zone_text, what, "Cloudflare answered HTTP %d: %s" % (status, text),
                           "nothing more was changed; look at the zone in the Cloudflare dashboard")

    def _pages(self, path, what, params, per_page=_PER_PAGE):
        """Every result of a paginated list (``result_info.total_pages``)."""
        out, page = [], 1
        while True:
            status, body = self.call("GET", path, what, params=dict(params, page=page, per_page=per_page))
            if status != 200 or not (body or {}).get("success"):
                self._fail(status, body, what)
            out.extend(body.get("result") or [])
            info = body.get("result_info") or {}
            if page >= int(info.get("total_pages") or 1):
                return out
            page += 1

    def find_zone(self):
        what = "zone %s" % self.zone_text
        # /zones pages hold at most 50 (Cloudflare's limit for that list).
        zones = [z for z in self._pages("/zones", what, {"name": self.zone_text}, per_page=50)
                 if z.get("name", "").lower() == self.zone_text.lower()]
        if not zones:
            raise ZoneNotFound(self.zone_text, what, "Cloudflare has no zone %s that this API token can see"
                               % self.zone_text)
        self.zone_id = zones[0]["id"]

    def read(self, name, rdtype):
        name = validate.fqdn(name)
        what = "%s %s" % (name, rdtype)
        records = self._pages("/zones/%s/dns_records" % self._zone(), what,
                              {"type": rdtype, "name": name.rstrip(".")})
        records = [r for r in records if r.get("type") == rdtype and validate.fqdn(r.get("name", "")) == name]
        ids = {}
        for record in records:
            ids.setdefault(_value(record), []).append(record["id"])
        self.ids[(name, rdtype)] = ids
        if not records:
            return RRset(name, rdtype)
        # Cloudflare keeps a TTL per record (1 = automatic); the smallest is what resolvers see first.
        return RRset(name, rdtype, min(int(r.get("ttl") or 1) for r in records), [_value(r) for r in records])

    def read_many(self, names, rdtype):
        """Names under one parent (DKIM selectors) in one filtered listing (``name.endswith``)."""
        wanted = dict((validate.fqdn(n), n) for n in names)
        parents = set(n.split(".", 1)[1] for n in wanted)
        if len(parents) != 1 or len(wanted) < 3:
            return super(CloudflareProvider, self).read_many(names, rdtype)
        parent = parents.pop()
        records = self._pages("/zones/%s/dns_records" % self._zone(), "%s %s" % (parent, rdtype),
                              {"type": rdtype, "name.endswith": "." + parent.rstrip(".")})
        by_name = {}
        for record in records:
            name = validate.fqdn(record.get("name", ""))
            if name in wanted and record.get("type") == rdtype:
                by_name.setdefault(name, []).append(record)
        out = {}
        for name, original in wanted.items():
            found = by_name.get(name, [])
            out[original] = RRset(name, rdtype, min(int(r.get("ttl") or 1) for r in found) if found else None,
                                  [_value(r) for r in found])
        return out

    def read_zone(self):
        """Every record of the zone from the paged dns_records list (5,000 a page: one request per 5,000)."""
        records = self._pages("/zones/%s/dns_records" % self._zone(), "zone %s (all records)" % self.zone_text,
                              {}, per_page=_ZONE_PAGE)
        return grouped((r.get("name", ""), r.get("type"), int(r.get("ttl") or 1), _value(r))
                       for r in records if r.get("type") in ZONE_TYPES)

    def change(self, expected, delete, add, ttl):
        name, rdtype = expected.name, expected.rdtype
        what = "%s %s" % (name, rdtype)
        now = self.read(name, rdtype)
        if sorted(now.values) != sorted(expected.values):
            raise PrerequisiteFailed("the records changed since they were read")
        ids = self.ids[(name, rdtype)]
        batch = {"deletes": [], "patches": [], "posts": []}
        gone = [v for v in delete if v in ids]
        new = [v for v in add if v not in expected.values]
        # A TXT rewrite keeps the record (its id, comment and tags) and changes its content.
        while rdtype == "TXT" and gone and new:
            batch["patches"].append(dict(_body(rdtype, name, new.pop(0)), id=ids[gone.pop(0)][0]))
        batch["deletes"] = [{"id": ids[v][0]} for v in gone]
        batch["posts"] = [dict(_body(rdtype, name, v), ttl=expected.ttl or ttl) for v in new]
        batch = dict((k, v) for k, v in batch.items() if v)
        status, body = self.call("POST", "/zones/%s/dns_records/batch" % self._zone(), what, body=batch,
                                 write=True)
        if status != 200 or not (body or {}).get("success"):
            after = self.read(name, rdtype)
            if sorted(after.values) != sorted(expected.values):
                raise PrerequisiteFailed("the batch was refused and the records changed")
            self._fail(status, body, what)
        wanted = [v for v in expected.values if v not in delete] + [v for v in add if v not in expected.values]
        after = self.read(name, rdtype)
        missing = [v for v in wanted if v not in after.values]
        left = [v for v in delete if v in after.values and v not in wanted]
        if missing or left:
            raise UnrouteError(self.zone_text, what, "after the batch the records read %s, not what was written"
                               % ("; ".join(sorted(after.values)) or "none"),
                               "look at the zone in the Cloudflare dashboard")


def _value(record):
    """A Cloudflare record as a DNS presentation value (what the engine plans with)."""
    rdtype, content = record.get("type"), record.get("content") or ""
    if rdtype == "MX":
        return "%d %s" % (int(record.get("priority") or 0), validate.fqdn(content))
    if rdtype in ("CNAME", "NS"):
        return validate.fqdn(content)
    if rdtype in ("TXT", "SPF"):
        return _txt_presentation(content)
    return content


def _txt_presentation(content):
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import txt_policy, txt_value
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.spf import split_strings
    text = content.strip()
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        # Content given as quoted character-strings (the form Cloudflare's dashboard suggests): the text is
        # their concatenation.
        try:
            text = txt_policy(text)
        except Exception:  # noqa: B902 - not valid presentation after all: the content is the text
            text = content
    return txt_value(split_strings(text))


def _body(rdtype, name, value):
    body = {"type": rdtype, "name": name.rstrip(".")}
    if rdtype == "MX":
        pref, exchange = value.split(None, 1)
        body.update(priority=int(pref), content=exchange.strip().rstrip("."))
    elif rdtype == "TXT":
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import txt_policy
        # Cloudflare keeps one string per record and splits at 255 itself.
        body["content"] = txt_policy(value)
    else:
        body["content"] = value.rstrip(".") if rdtype in ("CNAME", "NS") else value
    return body
