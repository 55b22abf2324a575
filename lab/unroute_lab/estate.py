"""Load and check an estate file (format: docs/lab.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.name
import dns.zone
import idna
import yaml

PLATFORMS = ("google", "microsoft365", "exchange", "mta", "other")
# Hosts with no record API the collection uses: the lab serves their public view from BIND, read-only.
MANUAL_HOSTS = ("microsoft365", "godaddy")
# lexicon: a zone of the lab's real PowerDNS, written through dns-lexicon's powerdns provider.
DNS_PROVIDERS = ("bind", "rfc2136", "route53", "cloudflare", "powerdns", "azure", "google_cloud_dns",
                 "lexicon") + MANUAL_HOSTS
# NS names each provider hands out, in the shapes of the NS detection table of docs/dns.md; BIND serves them
# as the domain's public delegation so that NS detection (the estate inventory plugin) meets them.
DEFAULT_NAMESERVERS = {
    "route53": ["ns-1536.awsdns-00.co.uk.", "ns-0.awsdns-00.com.", "ns-1024.awsdns-00.org.", "ns-512.awsdns-00.net."],
    "cloudflare": ["ada.ns.cloudflare.com.", "bob.ns.cloudflare.com."],
    "powerdns": ["ns1.pdns-lab.test.", "ns2.pdns-lab.test."],
    "azure": ["ns1-01.azure-dns.com.", "ns2-01.azure-dns.net.", "ns3-01.azure-dns.org.", "ns4-01.azure-dns.info."],
    "google_cloud_dns": ["ns-cloud-a1.googledomains.com.", "ns-cloud-a2.googledomains.com."],
    "lexicon": ["ns1.pdns-lab.test.", "ns2.pdns-lab.test."],
    "microsoft365": ["ns1.bdm.microsoftonline.com.", "ns2.bdm.microsoftonline.com."],
    "godaddy": ["ns51.domaincontrol.com.", "ns52.domaincontrol.com."],
}
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class EstateError(ValueError):
    pass


def _alabel(name):
    """The A-label of a unicode domain (IDNA 2008 + UTS 46, as registrars convert it), or None when invalid."""
    try:
        name.encode("ascii")
        return name.lower()
    except UnicodeEncodeError:
        pass
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None


def _unicode(name):
    try:
        return idna.decode(name) if "xn--" in name else name
    except idna.IDNAError:
        return name


@dataclass
class Domain:
    name: str
    platform: str
    description: str = ""
    dns: dict = field(default_factory=dict)
    sections: dict = field(default_factory=dict)
    host_vars: dict = field(default_factory=dict)
    expect_error: str = ""
    # How a person writes the domain (bücher.test); ``name`` is the A-label BIND serves (xn--bcher-kva.test).
    display: str = ""

    @property
    def records(self):
        return list(self.dns.get("records") or []) + self.filler

    @property
    def filler(self):
        """``dns.filler: N``: N generated records (hosts with an A record, one in ten with a TXT too) so a zone
        is as large as a real one; the mail records are the estate's own lines."""
        lines = []
        count = int(self.dns.get("filler", 0) or 0)
        for i in range(count):
            if i % 10 == 9:
                lines.append('host%05d 3600 IN TXT "site-verification=%08x"' % (i - 1, i * 2654435761 % 2 ** 32))
            else:
                lines.append("host%05d 3600 IN A 198.51.%d.%d" % (i, 100 + i // 250 % 10, i % 250 + 1))
        return lines

    @property
    def secondary(self):
        """Whether the lab runs a BIND secondary (ns2, 127.0.0.2) for this zone beside the primary."""
        return bool(self.dns.get("secondary", False))

    @property
    def dns_provider(self):
        """Where the zone is hosted in the lab: BIND (RFC 2136) unless ``dns.provider`` says otherwise."""
        provider = str(self.dns.get("provider") or "bind").lower()
        return "bind" if provider == "rfc2136" else provider

    @property
    def nameservers(self):
        """NS names of the public delegation (BIND serves them for every zone, whoever hosts it)."""
        return list(self.dns.get("nameservers") or DEFAULT_NAMESERVERS.get(self.dns_provider) or [])

    @property
    def axfr(self):
        """Whether the zone's server hands the zone out by AXFR signed with the collection's TSIG key (a
        server may refuse: the collection then checks only the named records and says so)."""
        return bool(self.dns.get("axfr", True))

    @property
    def outside(self):
        """A third party's zone the lab's BIND serves (an SPF service the customer includes): not the
        customer's, so no inventory host; ``dns.outside``."""
        return bool(self.dns.get("outside", False))

    @property
    def updates_allowed(self):
        return bool(self.dns.get("updates", True))

    @property
    def ttl(self):
        return int(self.dns.get("ttl", 3600))

    def section(self, name):
        """A platform section of this domain (``google``, ``microsoft365``, ``exchange``...)."""
        return self.sections.get(name)


@dataclass
class Estate:
    domains: list
    source: str = ""
    raw: dict = field(default_factory=dict)

    def domain(self, name):
        for item in self.domains:
            if item.name == name:
                return item
        raise KeyError(name)

    def with_section(self, name):
        return [d for d in self.domains if d.section(name) is not None]

    def budget(self, service):
        """The rate limit the estate sets for an emulated service (``budgets.<service>``), or None."""
        return (self.raw.get("budgets") or {}).get(service)


def load(path):
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise EstateError("%s: cannot read estate file: %s" % (path, err))
    return parse(data, source=str(path))


def parse(data, source="<estate>"):
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list):
        raise EstateError("%s: an estate is a mapping with a 'domains' list" % source)
    seen = set()
    domains = []
    for index, item in enumerate(data["domains"]):
        where = "%s: domains[%d]" % (source, index)
        if not isinstance(item, dict) or "name" not in item:
            raise EstateError("%s: each domain needs a 'name'" % where)
        given = str(item["name"]).rstrip(".")
        name = _alabel(given)
        if name is None or not all(_LABEL.match(label) for label in name.split(".")) or "." not in name:
            raise EstateError("%s: %r is not a domain name" % (where, item["name"]))
        if name in seen:
            raise EstateError("%s: domain %s is listed twice" % (where, name))
        seen.add(name)
        platform = item.get("platform", "other")
        if platform not in PLATFORMS:
            raise EstateError("%s (%s): platform must be one of %s" % (where, name, ", ".join(PLATFORMS)))
        dns_section = item.get("dns") or {}
        own = ("name", "platform", "description", "dns", "vars", "expect_error")
        sections = {k: v for k, v in item.items() if k not in own}
        host_vars = item.get("vars") or {}
        if not isinstance(host_vars, dict):
            raise EstateError("%s (%s): vars must be a mapping of inventory variables" % (where, name))
        domain = Domain(name=name, platform=platform, description=str(item.get("description", "")),
                        display=_unicode(name), dns=dns_section, sections=sections, host_vars=host_vars,
                        expect_error=str(item.get("expect_error") or ""))
        if domain.dns_provider not in DNS_PROVIDERS:
            raise EstateError("%s (%s): dns.provider must be one of %s" % (where, name, ", ".join(DNS_PROVIDERS)))
        if domain.secondary and domain.dns_provider != "bind":
            raise EstateError("%s (%s): dns.secondary needs the zone in the lab's BIND, which the secondary "
                              "transfers from; dns.provider is %s" % (where, name, domain.dns_provider))
        if (domain.outside or not domain.axfr) and domain.dns_provider != "bind":
            raise EstateError("%s (%s): dns.outside and dns.axfr are about the lab's BIND; dns.provider is %s"
                              % (where, name, domain.dns_provider))
        _check_records(domain, where)
        if "mta" in sections:
            from .mta import check_section
            problem = check_section(sections["mta"])
            if problem:
                raise EstateError("%s (%s): %s" % (where, name, problem))
        domains.append(domain)
    _check_budgets(data.get("budgets"), source)
    return Estate(domains=domains, source=source, raw=data)


# The emulated vendors that can enforce a rate limit; PowerDNS and BIND are real and keep their own behaviour.
BUDGETED = ("cloudflare", "route53", "azure", "google_cloud_dns", "exo", "google")


def _check_budgets(budgets, source):
    if budgets is None:
        return
    if not isinstance(budgets, dict):
        raise EstateError("%s: budgets is a mapping of service name to {rate, per, burst, block, writes}" % source)
    for service, spec in budgets.items():
        where = "%s: budgets.%s" % (source, service)
        if service not in BUDGETED:
            raise EstateError("%s: only %s enforce a budget" % (where, ", ".join(BUDGETED)))
        for part, value in [("", spec)] + ([(".writes", spec.get("writes"))] if isinstance(spec, dict) and
                                           spec.get("writes") is not None else []):
            if not isinstance(value, dict) or not isinstance(value.get("rate"), (int, float)) or value["rate"] <= 0:
                raise EstateError("%s%s: needs a positive rate (requests per 'per' seconds)" % (where, part))
            for key in ("per", "burst", "block"):
                if key in value and (not isinstance(value[key], (int, float)) or value[key] < 0):
                    raise EstateError("%s%s: %s must be a number of seconds or requests" % (where, part, key))


def zone_text(domain, nameserver="ns1"):
    """The zone file BIND loads for a domain: generated SOA/NS plus the estate's records."""
    lines = [
        "$ORIGIN %s." % domain.name,
        "$TTL %d" % domain.ttl,
        "@ IN SOA %s hostmaster 1 3600 600 86400 300" % nameserver,
        "%s IN A 127.0.0.1" % nameserver,
    ]
    lines.extend("@ IN NS %s" % ns for ns in (domain.nameservers or [nameserver]))
    if domain.secondary:
        lines.extend(["@ IN NS ns2", "ns2 IN A 127.0.0.2"])
    lines.extend(str(r) for r in domain.records)
    return "\n".join(lines) + "\n"


def _check_records(domain, where):
    try:
        dns.zone.from_text(zone_text(domain), origin=dns.name.from_text(domain.name), relativize=False,
                           check_origin=True)
    except (dns.exception.DNSException, ValueError) as err:
        raise EstateError("%s (%s): dns.records do not parse as zone-file lines: %s" % (where, domain.name, err))
