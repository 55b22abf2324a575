# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole zone, read once (AXFR or a provider's paged listing), and the SPF chains through it.

What the fingerprint matches at any name - MX, SPF TXT, CNAME - is found here; what is done about it is
the engine's per-name planning, the same as for the apex.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._dns import spf as spf_codec
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.mx import parse_mx

try:
    import dns.exception
    import dns.resolver
except ImportError:  # pragma: no cover - reported by the module
    pass

# Seconds one out-of-zone SPF name may take to answer: a chain that leaves the zone must not stall a run.
OUTSIDE_LIFETIME = 3.0


def fqdn(name):
    return name.rstrip(".").lower() + "."


def in_zone(name, zone):
    name, zone = fqdn(name), fqdn(zone)
    return name == zone or name.endswith("." + zone)


class ZoneIndex(object):
    """The RRsets of one zone by (name, type); built from one read_zone()."""

    def __init__(self, zone, rrsets, seconds):
        self.zone = fqdn(zone)
        self.seconds = seconds
        self.rrsets = {}
        for rrset in rrsets:
            self.rrsets[(fqdn(rrset.name), rrset.rdtype)] = rrset
        self.records = sum(len(r.values) for r in self.rrsets.values())
        # Names below the apex holding NS are zone cuts: what lies at or below them is another zone's.
        self.cuts = sorted(name for name, rdtype in self.rrsets if rdtype == "NS" and name != self.zone)

    def below_cut(self, name):
        name = fqdn(name)
        return any(name == cut or name.endswith("." + cut) for cut in self.cuts)

    def names(self, rdtype):
        return sorted(name for name, kind in self.rrsets if kind == rdtype and not self.below_cut(name))

    def values(self, name, rdtype):
        rrset = self.rrsets.get((fqdn(name), rdtype))
        return list(rrset.values) if rrset else []

    def spf(self, name):
        """The SPF policies at ``name`` (text, strings joined)."""
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import txt_policy
        return [p for p in (txt_policy(v) for v in self.values(name, "TXT")) if spf_codec.is_spf(p)]

    def exists(self, name):
        name = fqdn(name)
        return any(n == name or n.endswith("." + name) for n, dummy in self.rrsets)

    def note(self):
        return "%d records of %s (MX, TXT, CNAME, NS) read in one pass in %.2f s" % (
            self.records, self.zone.rstrip("."), self.seconds)

    # -- what the fingerprint matches, at any name ---------------------------------
    def mx_names(self, fp):
        return [name for name in self.names("MX")
                if any(fp.host(parse_mx(v)[1]) for v in self.values(name, "MX"))]

    def spf_names(self, fp):
        out = []
        for name in self.names("TXT"):
            for policy in self.spf(name):
                rewrite = spf_codec.SpfRewrite(policy, fp)
                if rewrite.removed or rewrite.reported:
                    out.append(name)
                    break
        return out

    def cname_names(self, fp):
        return [name for name in self.names("CNAME") if any(fp.host(v) for v in self.values(name, "CNAME"))]


class Outside(object):
    """SPF records of names outside the zone, asked of ``server`` (the zone's primary, when given) and
    else of the system resolver, once per name per run."""

    def __init__(self, server=None, port=53, lifetime=OUTSIDE_LIFETIME):
        self.cache = {}
        self.resolver = dns.resolver.Resolver()
        self.resolver.cache = None
        self.resolver.lifetime = lifetime
        if server:
            self.resolver.nameservers = [server]
            self.resolver.port = int(port)

    def __call__(self, name):
        name = fqdn(name)
        if name not in self.cache:
            self.cache[name] = self._read(name)
        policy, why = self.cache[name]
        if why:
            raise spf_codec.LookupFailed(why)
        return policy

    def _read(self, name):
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import txt_policy
        try:
            answer = self.resolver.resolve(name, "TXT", raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return None, None
        except dns.exception.DNSException as err:
            return None, "%s could not be read (%s)" % (name.rstrip("."), type(err).__name__)
        if answer.rrset is None:
            return None, None
        policies = [p for p in (txt_policy(r.to_text()) for r in answer.rrset) if spf_codec.is_spf(p)]
        return (policies[0] if len(policies) == 1 else None), None


class ZoneSet(object):
    """The customer's zones by name: which of them holds a name, in one look-up per label of the name
    (an estate lists thousands of zones, and every domain's SPF chains ask)."""

    def __init__(self, names):
        self.names = frozenset(fqdn(n) for n in names if n)

    def holding(self, name):
        """The most specific of the zones that ``name`` lies in (None: none)."""
        labels = fqdn(name).split(".")
        for start in range(len(labels) - 1):
            zone = ".".join(labels[start:])
            if zone in self.names:
                return zone
        return None


class Chains(object):
    """Every include:/redirect= chain from the zone's SPF records: where it goes and what it finds there.

    ``mine(name)`` says a name is in one of the customer's zones (this run's or another the inventory
    lists); ``outside(name)`` reads the SPF record of any other name."""

    def __init__(self, index, fp, customer_zones, outside):
        self.index = index
        self.fp = fp
        self.customer_zones = customer_zones if isinstance(customer_zones, ZoneSet) else ZoneSet(customer_zones or [])
        self.outside = outside
        self.via = {}          # name in this zone -> the first chain that reaches it ([root, ..., name])
        self.loops = []        # chains that come back to a name already on them
        self.foreign = []      # (chain, zone or None, evidence): mxHero in another zone's record
        self.unread = []       # (chain, why)

    def zone_of(self, name):
        if in_zone(name, self.index.zone):
            return self.index.zone
        return self.customer_zones.holding(name)

    def fetch(self, name):
        """The SPF policy of ``name`` wherever it lies (None: no SPF record, a void lookup)."""
        if in_zone(name, self.index.zone) and not self.index.below_cut(name):
            policies = self.index.spf(name)
            return policies[0] if len(policies) == 1 else None
        return self.outside(name)

    def follow(self):
        # The apex first: of two chains of one length to a name, the one from the domain's own policy is shown.
        roots = self.index.names("TXT")
        for root in sorted(roots, key=lambda name: name != self.index.zone):
            for policy in self.index.spf(root)[:1]:
                self._walk(policy, [root])
        return self

    def _walk(self, policy, path):
        for term, target in spf_codec.chain_targets(policy):
            if self.fp.host(target):
                continue  # mxHero's own record: the term itself is what is removed
            if target in path:
                # The cycle alone: the same loop entered from another name, or at another of its names, is one.
                loop = path[path.index(target):] + [target]
                if not any(_rotation(loop, seen) for seen in self.loops):
                    self.loops.append(loop)
                continue
            if len(path) > spf_codec.MAX_DEPTH:
                continue
            chain = path + [target]
            try:
                nested = self.fetch(target)
            except spf_codec.LookupFailed as err:
                self.unread.append((chain, str(err)))
                continue
            if nested is None:
                continue
            if in_zone(target, self.index.zone) and not self.index.below_cut(target):
                known = self.via.get(target)
                if known is None or len(chain) < len(known):
                    self.via[target] = chain
            else:
                rewrite = spf_codec.SpfRewrite(nested, self.fp)
                for found, evidence in rewrite.removed + rewrite.reported:
                    entry = (chain, self.zone_of(target), evidence)
                    if entry not in self.foreign:
                        self.foreign.append(entry)
            self._walk(nested, chain)


def _rotation(loop, other):
    """Whether two loops are the same cycle entered at different names."""
    a, b = loop[:-1], other[:-1]
    return len(a) == len(b) and any(a == b[i:] + b[:i] for i in range(len(b)))


def chain_text(chain):
    return " -> ".join(n.rstrip(".") for n in chain)
