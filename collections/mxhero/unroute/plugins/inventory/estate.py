# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: estate
short_description: Customer domains from a plain list (YAML or CSV), platform detected from MX when not given
version_added: 0.2.0
description:
  - Reads a list of customer domains - from O(source) (a CSV or YAML file) or inline O(domains) - and makes one
    inventory host per domain, grouped by platform (C(google), C(microsoft365), C(exchange), C(mta), C(other)).
  - When a domain's platform is not given, it is detected from the domain's MX records - Google Workspace
    (C(smtp.google.com), C(aspmx.l.google.com)...), Microsoft 365 (C(*.mail.protection.outlook.com)), mxHero
    itself (the platform behind it is then unknown - group C(detected_mxhero), platform C(other) until you say
    otherwise), or other.
  - A C(credentials) column puts the host in group C(credentials_<name>), so that C(group_vars/credentials_<name>.yml)
    can hold one set of credentials shared by many domains.
  - Every host gets C(ansible_connection=local) and C(ansible_python_interpreter) set to the controller's Python,
    because every module of the collection runs on the controller.
  - A domain may be given in unicode (C(bücher.example)) or A-label (C(xn--bcher-kva.example)) form (IDNA 2008 with
    UTS 46 mapping); its host is named by the A-label, and a name IDNA refuses fails the inventory in one line.
  - The inventory file must end in C(estate.yml) or C(estate.yaml).
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - ansible.builtin.constructed
options:
  plugin:
    description: Marks this file as an estate inventory.
    required: true
    type: str
    choices: [mxhero.unroute.estate]
  source:
    description:
      - CSV (header C(domain,platform,credentials), extra columns become host variables) or YAML (a list of
        mappings with the same keys, plus C(vars)) file, relative to the inventory file.
    type: str
  domains:
    description: Domains given inline, each a mapping like one YAML entry of O(source), or a plain domain name.
    type: list
    elements: raw
    default: []
  detect_platform:
    description: Look up the MX records of domains whose platform is not given.
    type: bool
    default: true
  nameservers:
    description: Name servers to ask for MX records; the system resolver when empty.
    type: list
    elements: str
    default: []
  port:
    description: Port of O(nameservers).
    type: int
    default: 53
  timeout:
    description: Seconds to wait for each MX lookup.
    type: float
    default: 5
  detect_dns_provider:
    description:
      - Look up the NS records of every domain that has no C(unroute_dns_provider) yet and set it from the
        name servers - V(cloudflare) (C(*.ns.cloudflare.com)), V(route53) (C(ns-*.awsdns-*)), V(azure)
        (C(ns*-*.azure-dns.*)), V(google_cloud_dns) (C(ns-cloud-*.googledomains.com)), or V(manual)
        with C(unroute_dns_host) for hosts without a record API we can use (Microsoft 365 C(*.bdm.microsoftonline.com),
        GoDaddy C(*.domaincontrol.com), whose API most accounts may not use; those hosts also get
        C(unroute_dns_lexicon_provider=godaddy), so an account with API access sets C(unroute_dns_provider=lexicon)).
      - Each such host is also put in group C(dns_<provider>). Name servers that match no pattern leave the
        variable unset (the role's default, V(rfc2136), applies).
    type: bool
    default: true
  ns_providers:
    description:
      - More NS patterns (shell-style, matched against each NS host name without the final dot), each mapped to
        a provider value (for example C(ns*.example.net) to V(powerdns) for your own PowerDNS servers), or to
        C(manual:<dns_host>). They are tried before the built-in ones.
    type: dict
    default: {}
  workers:
    description: MX lookups run in parallel with this many threads.
    type: int
    default: 16
requirements:
  - dnspython >= 2.6
"""

EXAMPLES = r"""
# customers.estate.yml
plugin: mxhero.unroute.estate
source: customers.csv
# customers.csv:
#   domain,platform,credentials
#   acme.example,,dns-provider-a
#   globex.example,google,dns-provider-a
#   initech.example,microsoft365,initech-tenant

# Inline, detection through a specific resolver
# plugin: mxhero.unroute.estate
# nameservers: [192.0.2.53]
# domains:
#   - acme.example
#   - domain: globex.example
#     platform: exchange
#     vars:
#       unroute_exchange_host: mail.globex.example
"""

import csv
import fnmatch
import os
from concurrent.futures import ThreadPoolExecutor

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._names import name_problem, to_alabel

try:
    import dns.exception
    import dns.resolver
    HAS_DNSPYTHON = True
except ImportError:
    HAS_DNSPYTHON = False

PLATFORMS = ("google", "microsoft365", "exchange", "mta", "other")
# NS host patterns -> (unroute_dns_provider, unroute_dns_host): the detection table of docs/dns.md.
NS_PATTERNS = (
    ("*.ns.cloudflare.com", "cloudflare"),
    ("ns-*.awsdns-*.com", "route53"), ("ns-*.awsdns-*.net", "route53"), ("ns-*.awsdns-*.org", "route53"),
    ("ns-*.awsdns-*.co.uk", "route53"),
    ("ns*.bdm.microsoftonline.com", "manual:microsoft365"),
    # GoDaddy's API is closed to accounts under 10 domains without a Premier plan, so steps for a person are
    # the default; such hosts also get unroute_dns_lexicon_provider=godaddy for accounts that do have access.
    ("ns*.domaincontrol.com", "manual:godaddy"),
    ("ns*-*.azure-dns.com", "azure"), ("ns*-*.azure-dns.net", "azure"),
    ("ns*-*.azure-dns.org", "azure"), ("ns*-*.azure-dns.info", "azure"),
    ("ns-cloud-*.googledomains.com", "google_cloud_dns"),
)
# Hosts dns-lexicon can write to when the account has API access: (dns_host, lexicon provider).
LEXICON_HOSTS = {"godaddy": "godaddy"}


def classify_ns(nameservers, extra=()):
    """(provider, dns_host) from a domain's NS host names, or (None, None) when no pattern matches."""
    hosts = [n.lower().rstrip(".") for n in nameservers]
    for pattern, value in list(extra) + list(NS_PATTERNS):
        if any(fnmatch.fnmatchcase(h, pattern.lower().rstrip(".")) for h in hosts):
            provider, dummy, host = str(value).partition(":")
            return provider, host or provider
    return None, None


_GOOGLE_MX = ("smtp.google.com", "aspmx.l.google.com", "googlemail.com", "google.com")
_M365_SUFFIX = ".mail.protection.outlook.com"


def classify_mx(exchanges, fingerprint):
    """'google', 'microsoft365', 'mxhero' (only mxHero MX) or 'other' from MX exchange names."""
    hosts = [e.lower().rstrip(".") for e in exchanges]
    others = [h for h in hosts if not fingerprint.host(h)]
    if any(h == g or h.endswith("." + g) for h in others for g in _GOOGLE_MX):
        return "google"
    if any(h.endswith(_M365_SUFFIX) for h in others):
        return "microsoft365"
    if hosts and not others:
        return "mxhero"
    return "other"


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "mxhero.unroute.estate"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("estate.yml", "estate.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        entries = [self._normalise(e) for e in self.get_option("domains")]
        source = self.get_option("source")
        if source:
            source = os.path.expanduser(source)
            if not os.path.isabs(source):
                source = os.path.join(os.path.dirname(path), source)
            entries.extend(self._normalise(e) for e in self._read_source(source))
        seen = set()
        for entry in entries:
            if entry["domain"] in seen:
                raise AnsibleParserError("estate: domain %s is listed twice" % entry["domain"])
            seen.add(entry["domain"])
        self._detect(entries)
        for entry in entries:
            self._add(entry)

    # -- reading ----------------------------------------------------------------
    def _read_source(self, source):
        try:
            if source.endswith(".csv"):
                with open(source, newline="") as handle:
                    return [dict((k.strip(), (v or "").strip()) for k, v in row.items() if k)
                            for row in csv.DictReader(handle)]
            data = self.loader.load_from_file(source)
        except (OSError, csv.Error) as err:
            raise AnsibleParserError("estate: cannot read %s: %s" % (source, to_native(err)))
        if isinstance(data, dict):
            data = data.get("domains")
        if not isinstance(data, list):
            raise AnsibleParserError("estate: %s must hold a list of domains (or a 'domains' list)" % source)
        return data

    @staticmethod
    def _normalise(item):
        if isinstance(item, str):
            item = {"domain": item}
        if not isinstance(item, dict) or not item.get("domain"):
            raise AnsibleParserError("estate: each entry needs a 'domain' (got %r)" % (item,))
        entry = dict(item)
        given = str(entry["domain"]).strip()
        problem = name_problem(given)
        if problem:
            raise AnsibleParserError("estate: %s: the domain name %s; give the domain as a registrar shows it, "
                                     "in unicode (bücher.example) or A-label (xn--bcher-kva.example) form"
                                     % (given, problem))
        # One host per domain, named by the A-label DNS carries (a unicode and an A-label spelling of one
        # domain are the same host, and a duplicate); reports show the unicode form beside it.
        entry["domain"] = to_alabel(given).rstrip(".")
        platform = str(entry.get("platform") or "").strip().lower()
        if platform and platform not in PLATFORMS:
            raise AnsibleParserError("estate: %s: platform %r is not one of %s"
                                     % (entry["domain"], platform, ", ".join(PLATFORMS)))
        entry["platform"] = platform
        return entry

    # -- detection --------------------------------------------------------------
    def _detect(self, entries):
        pending = [e for e in entries if not e["platform"]] if self.get_option("detect_platform") else []
        ns_pending = [e for e in entries if not (e.get("vars") or {}).get("unroute_dns_provider") and
                      not e.get("unroute_dns_provider")] if self.get_option("detect_dns_provider") else []
        if not pending and not ns_pending:
            return
        if not HAS_DNSPYTHON:
            raise AnsibleParserError("estate: platform detection needs dnspython (or give every domain a platform)")
        resolver = dns.resolver.Resolver(configure=not self.get_option("nameservers"))
        if self.get_option("nameservers"):
            resolver.nameservers = self.get_option("nameservers")
        resolver.port = self.get_option("port")
        resolver.lifetime = self.get_option("timeout")
        resolver.cache = None
        fingerprint = Fingerprint()

        def lookup(entry):
            try:
                answer = resolver.resolve(entry["domain"], "MX", tcp=bool(self.get_option("nameservers")),
                                          raise_on_no_answer=False)
                exchanges = [r.exchange.to_text() for r in answer.rrset] if answer.rrset else []
            except dns.resolver.NXDOMAIN:
                exchanges = []
            except dns.exception.DNSException as err:
                entry["unroute_detect_error"] = "MX lookup failed: %s" % err
                return entry
            entry["unroute_detected_mx"] = sorted(exchanges)
            entry["detected"] = classify_mx(exchanges, fingerprint) if exchanges else "no_mx"
            return entry

        extra = list((self.get_option("ns_providers") or {}).items())

        def lookup_ns(entry):
            try:
                answer = resolver.resolve(entry["domain"], "NS", tcp=bool(self.get_option("nameservers")),
                                          raise_on_no_answer=False)
                names = [r.target.to_text() for r in answer.rrset] if answer.rrset else []
            except dns.resolver.NXDOMAIN:
                names = []
            except dns.exception.DNSException as err:
                self.display.warning("estate: %s: NS lookup failed: %s; DNS provider left to the role's default"
                                     % (entry["domain"], err))
                return entry
            entry["unroute_detected_ns"] = sorted(names)
            provider, host = classify_ns(names, extra)
            if provider:
                entry["unroute_dns_provider"] = provider
                entry["unroute_dns_host"] = host
                if host in LEXICON_HOSTS:
                    entry["unroute_dns_lexicon_provider"] = LEXICON_HOSTS[host]
            return entry

        with ThreadPoolExecutor(max_workers=max(1, self.get_option("workers"))) as pool:
            list(pool.map(lookup, pending))
            list(pool.map(lookup_ns, ns_pending))

    # -- adding -----------------------------------------------------------------
    def _add(self, entry):
        domain = entry["domain"]
        detected = entry.pop("detected", None)
        platform = entry["platform"] or (detected if detected in PLATFORMS else "other")
        self.inventory.add_group(platform)
        self.inventory.add_host(domain, group=platform)
        if detected:
            group = "detected_%s" % detected
            self.inventory.add_group(group)
            self.inventory.add_child(group, domain)
        if entry.get("unroute_detect_error"):
            self.inventory.add_group("detect_failed")
            self.inventory.add_child("detect_failed", domain)
            self.display.warning("estate: %s: %s; platform set to other" % (domain, entry["unroute_detect_error"]))
        if entry.get("unroute_dns_provider"):
            group = "dns_%s" % entry["unroute_dns_provider"]
            self.inventory.add_group(group)
            self.inventory.add_child(group, domain)
        credentials = str(entry.get("credentials") or "").strip()
        if credentials:
            group = "credentials_%s" % "".join(c if c.isalnum() else "_" for c in credentials)
            self.inventory.add_group(group)
            self.inventory.add_child(group, domain)
        hostvars = {"ansible_connection": "local",
                    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    "unroute_domain": domain, "unroute_platform": platform}
        for key, value in entry.items():
            if key in ("domain", "platform", "vars", "credentials") or value in ("", None):
                continue
            hostvars[key] = value
        hostvars.update(entry.get("vars") or {})
        for key, value in hostvars.items():
            self.inventory.set_variable(domain, key, value)
        strict = self.get_option("strict")
        self._set_composite_vars(self.get_option("compose"), hostvars, domain, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), hostvars, domain, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, domain, strict=strict)
