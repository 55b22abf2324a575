# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerDNS Authoritative through its HTTP API (``/api/v1``).

The API has no version token on an RRset: a write REPLACEs the whole RRset. So the RRset is read again
right before the write and compared with what the plan was made from, and read once more after it. A
window between that last read and the PATCH remains; ``provider: rfc2136`` against the same server
(``dnsupdate=yes``) gives the hard guarantee of an update prerequisite.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    READ_VERIFY, ZONE_TYPES, CredentialsRefused, PrerequisiteFailed, RRset, ZoneNotFound)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rest import RestProvider


class PowerDnsProvider(RestProvider):
    name = "powerdns"
    guarantee = READ_VERIFY
    # The environment variables of PowerDNS tooling (pdnsutil-less API clients, terraform).
    options = dict(
        powerdns_api_url=dict(type="str", fallback=(env_fallback, ["PDNS_SERVER_URL", "PDNS_API_URL"])),
        powerdns_api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["PDNS_API_KEY"])),
        powerdns_server_id=dict(type="str", default="localhost"),
    )
    required = ("powerdns_api_url", "powerdns_api_key")

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        return cls(zone, params["powerdns_api_url"], params["powerdns_api_key"],
                   server_id=params.get("powerdns_server_id") or "localhost", timeout=params["timeout"])

    def __init__(self, zone, api_url, api_key, server_id="localhost", timeout=10.0, retry=None):
        self.zone_text = validate.domain_of(zone)
        self.zone_fqdn = validate.fqdn(zone)
        base = api_url.rstrip("/")
        if not base.endswith("/api/v1"):
            base += "/api/v1"
        self.where = base
        self.connect("the PowerDNS API at %s" % base, "%s/servers/%s" % (base, server_id), {"X-API-Key": api_key},
                     timeout, retry)
        # Zone ids are the canonical name with '/' escaped as =2F (PowerDNS docs, "Zone id").
        self.zone_path = "/zones/%s" % self.zone_fqdn.replace("=", "=3D").replace("/", "=2F")
        self.disabled = {}

    def _fail(self, status, body, what):
        cause = (body or {}).get("error") if isinstance(body, dict) else None
        if status in (401, 403):
            raise CredentialsRefused(self.zone_text, what, "the PowerDNS API at %s refused the API key (HTTP %d)"
                                     % (self.where, status))
        if status == 404:
            raise ZoneNotFound(self.zone_text, "zone %s" % self.zone_text, "the PowerDNS server at %s does not "
                               "hold zone %s (%s)" % (self.where, self.zone_text, cause or "HTTP 404"))
        raise UnrouteError(self.zone_text, what, "the PowerDNS API answered HTTP %d: %s"
                           % (status, cause or "no error text"), "look at the server's log")

    def find_zone(self):
        status, body = self.call("GET", self.zone_path, "zone %s" % self.zone_text,
                                 params={"rrsets": "false"})
        if status != 200:
            self._fail(status, body, "zone %s" % self.zone_text)

    def read(self, name, rdtype):
        name = validate.fqdn(name)
        what = "%s %s" % (name, rdtype)
        status, body = self.call("GET", self.zone_path, what,
                                 params={"rrset_name": name, "rrset_type": rdtype})
        if status != 200:
            self._fail(status, body, what)
        for rrset in (body or {}).get("rrsets") or []:
            if rrset.get("name", "").lower() == name and rrset.get("type") == rdtype:
                records = rrset.get("records") or []
                # Disabled records are not served, so they are not ours to plan with, but REPLACE must keep them.
                self.disabled[(name, rdtype)] = [r["content"] for r in records if r.get("disabled")]
                return RRset(name, rdtype, rrset.get("ttl"), [r["content"] for r in records if not r.get("disabled")])
        self.disabled[(name, rdtype)] = []
        return RRset(name, rdtype)

    def read_zone(self):
        """The zone in one GET (PowerDNS returns every RRset with the zone; it has no paging)."""
        what = "zone %s (all records)" % self.zone_text
        status, body = self.call("GET", self.zone_path, what)
        if status != 200:
            self._fail(status, body, what)
        out = []
        for rrset in (body or {}).get("rrsets") or []:
            if rrset.get("type") in ZONE_TYPES:
                values = [r["content"] for r in rrset.get("records") or [] if not r.get("disabled")]
                if values:
                    out.append(RRset(validate.fqdn(rrset.get("name", "")), rrset["type"], rrset.get("ttl"), values))
        return out

    def change(self, expected, delete, add, ttl):
        name, rdtype = expected.name, expected.rdtype
        now = self.read(name, rdtype)
        if sorted(now.values) != sorted(expected.values) or (expected.values and now.ttl != expected.ttl):
            raise PrerequisiteFailed("the RRset changed since it was read")
        wanted = [v for v in expected.values if v not in delete] + [v for v in add if v not in expected.values]
        keep = self.disabled.get((name, rdtype), [])
        records = [{"content": v, "disabled": False} for v in wanted] + [{"content": v, "disabled": True} for v in keep]
        rrset = {"name": name, "type": rdtype}
        if records:
            rrset.update(changetype="REPLACE", ttl=expected.ttl or ttl, records=records)
        else:
            rrset.update(changetype="DELETE")
        what = "%s %s" % (name, rdtype)
        status, body = self.call("PATCH", self.zone_path, what, body={"rrsets": [rrset]}, write=True)
        if status not in (200, 204):
            self._fail(status, body, what)
        after = self.read(name, rdtype)
        if sorted(after.values) != sorted(wanted):
            raise UnrouteError(self.zone_text, what, "after the write the RRset reads %s, not what was written "
                               "(%s): someone else wrote it at the same moment, and the PowerDNS API has no "
                               "version token to stop that" % (
                                   "; ".join(sorted(after.values)) or "empty", "; ".join(sorted(wanted)) or "empty"),
                               "look at the RRset and fix it by hand; use provider: rfc2136 against this server "
                               "for a guarded write")
