# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The single answer to "is this mxHero?" for every module of the collection.

Evidence strings are returned instead of booleans so that every finding can say
*why* it matched (see shared/reference/mxhero-fingerprint.md).
"""

from __future__ import annotations

import ipaddress
import re

# Hosts mxHero publishes; anything on a label boundary under these domains matches.
DEFAULT_DOMAINS = ("mxhero.com",)
# Published mxHero addresses (spam bypass / inbound gateway lists).
DEFAULT_IPS = (
    "54.208.111.28",
    "54.236.184.32",
    "54.165.252.128",
    "54.165.253.193",
    "3.211.77.148",
    "52.22.51.97",
    "54.209.222.83",
    "107.23.152.206",
)
DEFAULT_NAME_PATTERNS = ("mxhero",)
HEADER_PREFIX = "x-mxhero-"

# Rough host-name shape used when scanning free text (policy values, rule text).
_HOST_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_.-])((?:[A-Za-z0-9_-]+\.)+[A-Za-z]{2,63})\.?(?![A-Za-z0-9_-])")
_IP_IN_TEXT = re.compile(r"(?<![0-9.])(\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?)(?![0-9.])")


def normalize_host(value):
    """Reduce a smart host / exchange spelling to a bare lower-case name.

    Accepts the forms admins type: ``[host]``, ``host:25``, ``host.``,
    ``smtp:host`` address-space prefixes are not hosts and are left alone.
    """
    if value is None:
        return ""
    text = str(value).strip().lower()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


class Fingerprint(object):
    """Matches host names, IPs, object names and headers against mxHero's identity."""

    def __init__(self, extra_domains=None, extra_ips=None, extra_name_patterns=None, match_cidrs=False):
        self.domains = tuple(normalize_host(d) for d in DEFAULT_DOMAINS + tuple(extra_domains or ()))
        self.networks = []
        for item in DEFAULT_IPS + tuple(extra_ips or ()):
            nets = _as_networks(item)
            if not nets:
                raise ValueError("not an IP address, network or a-b range: %s" % item)
            self.networks.extend(nets)
        self.name_patterns = tuple(p.lower() for p in DEFAULT_NAME_PATTERNS + tuple(extra_name_patterns or ()))
        self.match_cidrs = match_cidrs

    # -- hosts -----------------------------------------------------------------
    def host(self, value):
        """Evidence string when ``value`` names an mxHero host, else None."""
        name = normalize_host(value)
        if not name:
            return None
        for domain in self.domains:
            if name == domain or name.endswith("." + domain):
                return "host %s" % name
        return None

    # -- addresses -------------------------------------------------------------
    def ip(self, value):
        """Evidence when ``value`` (address, CIDR or ``a-b`` range) is an mxHero address.

        A network or range wider than one address that merely *contains* an
        mxHero address is only a match when ``match_cidrs`` was asked for; use
        :meth:`ip_overlap` to report it instead.
        """
        nets = _as_networks(value)
        if not nets:
            return None
        shown = _shown(value, nets)
        inside = [self._container(net) for net in nets]
        if all(inside):
            known = inside[0]
            if known.num_addresses == 1:
                return "ip %s" % shown
            return "ip %s in %s" % (shown, known)
        if self.match_cidrs:
            return self._overlap(value, nets)
        return None

    def ip_overlap(self, value):
        """Evidence when a wider network or range contains an mxHero address (report only)."""
        nets = _as_networks(value)
        if not nets or self.ip(value):
            return None
        return self._overlap(value, nets)

    def _container(self, net):
        for known in self.networks:
            if net.version == known.version and net.subnet_of(known):
                return known
        return None

    def _overlap(self, value, nets):
        for net in nets:
            for known in self.networks:
                if net.version == known.version and (known.subnet_of(net) or net.subnet_of(known)):
                    word = "cidr" if _as_network(value) is not None else "range"
                    hit = known.network_address if known.subnet_of(net) else net.network_address
                    return "%s %s contains %s" % (word, _shown(value, nets), hit)
        return None

    # -- names and headers -----------------------------------------------------
    def name(self, value):
        """Evidence when an object name contains an mxHero name pattern (weak evidence)."""
        text = str(value or "").lower()
        for pattern in self.name_patterns:
            if pattern and pattern in text:
                return "name contains %s" % pattern
        return None

    def header(self, value):
        text = str(value or "").strip()
        if text.lower().startswith(HEADER_PREFIX):
            return "header %s" % text
        return None

    # -- free text -------------------------------------------------------------
    def scan_text(self, value):
        """All host and IP evidence found anywhere in a string (for opaque settings)."""
        found = []
        text = str(value or "")
        for match in _HOST_IN_TEXT.finditer(text):
            evidence = self.host(match.group(1))
            if evidence and evidence not in found:
                found.append(evidence)
        for match in _IP_IN_TEXT.finditer(text):
            evidence = self.ip(match.group(1))
            if evidence and evidence not in found:
                found.append(evidence)
        return found


def _as_network(value):
    """One network for an address or CIDR (None for anything else, ranges included)."""
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        return None


def _as_networks(value):
    """The networks an address, a CIDR or an ``a-b`` range (Exchange's form) covers; [] if none of those."""
    net = _as_network(value)
    if net is not None:
        return [net]
    text = str(value or "").strip()
    if text.count("-") != 1:
        return []
    first, last = (part.strip() for part in text.split("-"))
    try:
        low, high = ipaddress.ip_address(first), ipaddress.ip_address(last)
        if low > high:
            return []
        return list(ipaddress.summarize_address_range(low, high))
    except (ValueError, TypeError):
        return []


def _shown(value, nets):
    """How evidence names the value: a bare address, the CIDR, or the range as written."""
    if _as_network(value) is not None or (len(nets) == 1 and nets[0].num_addresses == 1):
        net = nets[0]
        return str(net.network_address) if net.num_addresses == 1 else str(net)
    return "-".join(part.strip() for part in str(value).strip().split("-"))


def fingerprint_argument_spec():
    """Options every module accepts to extend the fingerprint (doc fragment ``fingerprint``)."""
    return dict(
        mxhero_domains=dict(type="list", elements="str", default=[]),
        mxhero_ips=dict(type="list", elements="str", default=[]),
        mxhero_name_patterns=dict(type="list", elements="str", default=[]),
        match_cidrs=dict(type="bool", default=False),
        # The role's one fingerprint variable, passed whole to every module (same keys as above).
        fingerprint=dict(type="dict", options=dict(
            mxhero_domains=dict(type="list", elements="str", default=[]),
            mxhero_ips=dict(type="list", elements="str", default=[]),
            mxhero_name_patterns=dict(type="list", elements="str", default=[]),
            match_cidrs=dict(type="bool", default=False),
        )),
    )


def _merged(params):
    """The four fingerprint options with ``fingerprint`` folded in: lists joined, match_cidrs if either says so."""
    whole = params.get("fingerprint") or {}
    merged = {}
    for key in ("mxhero_domains", "mxhero_ips", "mxhero_name_patterns"):
        merged[key] = list(params.get(key) or []) + [v for v in whole.get(key) or [] if v not in (params.get(key) or [])]
    merged["match_cidrs"] = bool(params.get("match_cidrs") or whole.get("match_cidrs"))
    return merged


def fingerprint_from_params(params):
    """Build the fingerprint from module parameters; raises ValueError on a bad IP."""
    params = _merged(params)
    bad = [ip for ip in params.get("mxhero_ips") or [] if not _as_networks(ip)]
    if bad:
        raise ValueError("mxhero_ips holds values that are not IP addresses, networks or a-b ranges: %s"
                         % ", ".join(bad))
    return Fingerprint(
        extra_domains=params.get("mxhero_domains") or (),
        extra_ips=params.get("mxhero_ips") or (),
        extra_name_patterns=params.get("mxhero_name_patterns") or (),
        match_cidrs=bool(params.get("match_cidrs")),
    )
