"""Read a running lab: its manifest, its state, its faults (used by the CLI and the tests)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from .bind import dump_zone
from .secondary import set_stalled


class Lab:
    def __init__(self, directory):
        self.dir = Path(directory)
        path = self.dir / "lab.json"
        if not path.exists():
            raise FileNotFoundError("no lab in %s (run 'unroute-lab up --dir %s' first)" % (self.dir, self.dir))
        self.manifest = json.loads(path.read_text())

    @property
    def dns(self):
        return self.manifest["services"]["dns"]

    @property
    def tsig_secret(self):
        return Path(self.dns["key_secret_file"]).read_text().strip()

    def service(self, name):
        return self.manifest["services"][name]

    def _control(self, path, body=None):
        port = self.manifest.get("control_port")
        if not port:
            raise RuntimeError("this lab runs no emulated service")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def provider_of(self, zone):
        """Where the lab hosts ``zone``: bind, route53, cloudflare, powerdns, azure, google_cloud_dns or lexicon
        (a PowerDNS zone written through dns-lexicon)."""
        domains = self.manifest["domains"]
        entry = domains.get(zone) or next((d for d in domains.values() if d.get("zone") == zone), {})
        return entry.get("dns_provider", "bind")

    def records(self, zone):
        """Every record of ``zone`` but the apex SOA/NS, as ``name ttl IN TYPE value`` lines, from whichever
        service hosts it."""
        provider = self.provider_of(zone)
        if zone in self.dns["zones"]:
            return dump_zone(self.dns, zone)
        service = {"lexicon": "powerdns"}.get(provider, provider)
        return self._control("/state?service=%s&zone=%s" % (service, zone))["zones"][zone]

    def state(self):
        out = {"dns": {zone: self.records(zone) for zone in self.dns["zones"]}}
        if self.manifest.get("control_port"):
            out.update(self._control("/state"))
        if "mta" in self.manifest["services"]:
            from .mta import dump
            out["mta"] = dump(self.service("mta"))
        return out

    def fault(self, service, **spec):
        if service == "dns":
            return self._dns_fault(spec.get("kind"), True)
        return self._control("/fault", dict(spec, service=service))

    def clear_faults(self, service):
        if service == "dns":
            return self._dns_fault("secondary_stalled", False)
        return self._control("/faults/clear", {"service": service})

    def stall_secondary(self, stalled=True):
        """The BIND secondary stops (or resumes) transferring; it keeps serving what it has."""
        return self._dns_fault("secondary_stalled", stalled)

    def _dns_fault(self, kind, on):
        # BIND is real: its one fault is the secondary's, switched by its configuration, not by the supervisor.
        if kind != "secondary_stalled":
            raise RuntimeError("dns has one fault, secondary_stalled (got %r)" % kind)
        secondary = self.dns.get("secondary")
        if not secondary:
            raise RuntimeError("this lab runs no BIND secondary: give a domain 'dns: {secondary: true}'")
        return set_stalled(secondary, on)
