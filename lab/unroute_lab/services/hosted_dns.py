"""What the lab's hosted-DNS services share: which domains they hold, their records as RRsets, dump lines."""

from __future__ import annotations

import time
from pathlib import Path

import dns.name
import dns.rdatatype
import dns.zone

from ..estate import zone_text
from .base import LabService


def rrsets(domain):
    """(name, type, ttl, [presentation values]) of a domain's estate records, SOA/NS left to the provider."""
    zone = dns.zone.from_text(zone_text(domain), origin=dns.name.from_text(domain.name), relativize=False)
    out = []
    for name, node in sorted(zone.nodes.items()):
        for rdataset in node.rdatasets:
            if rdataset.rdtype == dns.rdatatype.SOA or (rdataset.rdtype == dns.rdatatype.NS and name == zone.origin):
                continue
            if name.to_text() == "ns1.%s." % domain.name and rdataset.rdtype == dns.rdatatype.A:
                continue  # the glue of BIND's own generated NS
            out.append((name.to_text(), dns.rdatatype.to_text(rdataset.rdtype), rdataset.ttl,
                        sorted(r.to_text() for r in rdataset)))
    return out


def dump_lines(items):
    """Records as ``name ttl IN TYPE value`` lines, sorted, like bind.dump_zone."""
    return sorted("%s %d IN %s %s" % (name.lower(), ttl, rdtype, value)
                  for name, rdtype, ttl, values in items for value in values)


class HostedDnsService(LabService):
    """A hosted DNS provider of the lab: holds the domains whose ``dns.provider`` is its name."""

    provider = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The estate's dns.provider value for this service: its name unless the subclass says otherwise.
        cls.provider = cls.__dict__.get("provider") or cls.name

    @classmethod
    def wanted(cls, estate):
        return any(d.dns_provider == cls.provider for d in estate.domains)

    def workdir(self):
        """The service's folder in the lab (named after it), created."""
        path = Path(self.ctx.dir) / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def domains(self):
        return [d for d in self.ctx.estate.domains if d.dns_provider == self.provider]

    def state(self, zone=None):
        zones = [zone] if zone else [d.name for d in self.domains()]
        return {"zones": {z: self.records(z) for z in zones}}

    def records(self, zone):
        raise NotImplementedError

    def wait_answering(self, probe, what, timeout):
        """Wait until ``probe()`` stops raising OSError (the provider's child process answers its API)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("%s exited at start; see %s" % (what, self.log.name))
            try:
                probe()
                return
            except OSError:  # urllib's URLError is one
                time.sleep(0.1)
        raise RuntimeError("%s did not answer within %.0fs; see %s" % (what, timeout, self.log.name))
