# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exact steps for a person, where the DNS host has no API we can use (or none at all)."""

from __future__ import annotations

# Where each host keeps a domain's records (checked against the hosts' help pages, November 2026).
WHERE = {
    "microsoft365": "Microsoft 365 admin center > Settings > Domains > {zone} > DNS records",
    "squarespace": "Squarespace > Domains > {zone} > DNS > DNS settings",
    "godaddy": "GoDaddy > My Products > {zone} > DNS > DNS Records (GoDaddy's API answers 403 ACCESS_DENIED "
               "unless the account has 10 or more domains or a Premier plan, so this is done by hand)",
    "azure": "Azure portal > DNS zones > {zone} > Recordsets",
    "google_cloud": "Google Cloud console > Network services > Cloud DNS > {zone} > Record sets",
    "other": "your DNS host's control panel for {zone}",
}
HOSTS = tuple(WHERE)


def steps(host, zone, item, part):
    """One line telling a person what to change for ``item`` (a finding the engine planned)."""
    where = WHERE.get(host or "other", WHERE["other"]).format(zone=zone.rstrip("."))
    before, after = item.get("before") or {}, item.get("after") or {}
    if item["kind"] == "mx_record" and before:
        keep = [v for v in (part.get("after") or {}).get("values") or [] if v != before.get("value")]
        return "In %s: delete the MX record of %s with value '%s'; keep %s" % (
            where, before["record"], before["value"],
            "the MX records " + ", ".join("'%s'" % v for v in keep) if keep else "no other MX (add the replacement)")
    if item["kind"] == "mx_record" and after:
        return "In %s: add an MX record at %s with value '%s' (the replacement)" % (
            where, after["record"], after["value"])
    if item["kind"] == "spf_term":
        return ("In %s: edit the TXT record of %s that starts with v=spf1 from '%s' to '%s'; leave every other TXT "
                "record as it is" % (where, before.get("record"), before.get("policy"), after.get("policy")))
    return "In %s: change %s as described" % (where, item["object"])


class ManualSteps(object):
    """``provider: manual``: nothing is written; every planned change becomes exact steps for a person. The
    records are read from ``server`` (RFC 2136 options) when given, else from the system resolver."""

    name = "manual"
    # Reads go to the RFC 2136 server (or the resolver): its errors are worded with the RFC 2136 options.
    reads_as = ("rfc2136",)
    options = dict(dns_host=dict(type="str", default="other", choices=list(HOSTS)))
    required = ()
    library = None

    @classmethod
    def available(cls):
        return True

    @classmethod
    def check(cls, zone, params):
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rfc2136 import Rfc2136Provider
        Rfc2136Provider.check(zone, params)

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rfc2136 import Rfc2136Provider
        return Rfc2136Provider.from_params(zone, params, read_only=True, on_secret=on_secret)

    @classmethod
    def steps_for(cls, zone, params):
        """``(finding, part) -> text`` for the engine, or None for a provider that writes."""
        return lambda item, part: steps(params.get("dns_host"), zone, item, part)
