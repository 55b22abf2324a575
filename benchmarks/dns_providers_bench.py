"""DNS engine figures per provider: audit, real run and second run of N zones on each of BIND (RFC 2136),
Route 53 (moto behind the lab's strict layer), Cloudflare (the lab's emulator) and PowerDNS (real pdns_server,
HTTP API), all in one lab.

    .venv/bin/python benchmarks/dns_providers_bench.py --zones 300

Runs the engines directly (no Ansible), each zone with a fresh provider as a module run would build it.
Emulators answer faster or slower than the real services: compare providers with care, and read the figures
as what the collection itself costs around each provider's round trips.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / ".collections"), str(ROOT / "lab"), str(ROOT / "tests")]

from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module  # noqa: E402
from helpers import provider_args  # noqa: E402
from unroute_lab import cli as lab_cli  # noqa: E402
from unroute_lab.manifest import Lab  # noqa: E402

PROVIDERS = ("bind", "route53", "cloudflare", "powerdns")


def estate(n):
    domains = []
    for provider in PROVIDERS:
        for i in range(n):
            section = {"records": [
                "@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.example.net.",
                '@ 3600 IN TXT "v=spf1 include:_spf.google.com include:spf.mxhero.com ~all"',
                '@ 3600 IN TXT "google-site-verification=abc"']}
            if provider != "bind":
                section["provider"] = provider
            domains.append({"name": "b%04d.%s.test" % (i, provider), "dns": section})
    return {"domains": domains}


def sweep(lab, zones, check_mode):
    changed = 0
    start = time.perf_counter()
    for zone in zones:
        params = dns_module.ARGSPEC.validate(provider_args(lab, zone)).validated_parameters
        engine = dns_module.build_engine(params)
        changed += engine.mx(check_mode=check_mode)["changed"]
        changed += engine.spf(check_mode=check_mode)["changed"]
    return time.perf_counter() - start, changed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zones", type=int, default=300, help="zones per provider")
    args = parser.parse_args()
    n = args.zones
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estate.yml"
        path.write_text(yaml.safe_dump(estate(n)))
        t0 = time.perf_counter()
        lab_cli.up(str(path), str(Path(tmp) / "run"), quiet=True)
        up = time.perf_counter() - t0
        lab = Lab(Path(tmp) / "run")
        try:
            for provider in PROVIDERS:
                zones = ["b%04d.%s.test" % (i, provider) for i in range(n)]
                audit, planned = sweep(lab, zones, True)
                real, changed = sweep(lab, zones, False)
                second, left = sweep(lab, zones, False)
                rows.append((provider, audit, planned, real, changed, second, left))
        finally:
            lab_cli.down(str(Path(tmp) / "run"))
    print("zones per provider: %d; lab up (BIND, moto, pdns_server, emulator, %d zones): %.1fs" % (n, 4 * n, up))
    print("%-11s %14s %14s %14s" % ("provider", "audit ms/zone", "real ms/zone", "second ms/zone"))
    bad = False
    for provider, audit, planned, real, changed, second, left in rows:
        print("%-11s %14.1f %14.1f %14.1f" % (provider, audit / n * 1000, real / n * 1000, second / n * 1000))
        bad = bad or planned != 2 * n or changed != 2 * n or left != 0
    print("peak RSS of this process: %.0f MiB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    if bad:
        sys.exit("unexpected counts: %r" % rows)


if __name__ == "__main__":
    main()
