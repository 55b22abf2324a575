"""Whole-zone read figures (issue 24): one zone of N records (plus the mail records; "kept" counts the MX, TXT,
CNAME and NS records the read keeps of them) (10,000 by default) on each provider, read by
``read_zone()`` as a run with ``zone_scan`` does - BIND by AXFR signed with TSIG, PowerDNS (real pdns_server)
in one zone GET, dns-lexicon on that PowerDNS, Route 53 (moto behind the lab's strict layer), Cloudflare, Azure
DNS and Cloud DNS (the lab's emulators) through their paged lists - then the audit of that zone (dns_mx and
dns_spf with the scan, in check mode) which finds the one mxHero MX among the records.

    .venv/bin/python benchmarks/zone_read_bench.py --records 10000 [--providers bind,powerdns]

Emulators answer faster or slower than the real services: read the figures as what the collection costs
around each provider's pages, not as the service's own speed.
"""

import argparse
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

PROVIDERS = ("bind", "powerdns", "lexicon", "route53", "cloudflare", "azure", "google_cloud_dns")


def zone(provider):
    return "big.%s.test" % provider.replace("_", "-")


def estate(providers, records):
    domains = []
    for provider in providers:
        name = zone(provider)
        section = {"filler": records, "records": [
            "@ 3600 IN MX 10 mail.%s." % name, "mail 3600 IN A 192.0.2.1", '@ 3600 IN TXT "v=spf1 mx -all"',
            "deep 3600 IN MX 10 smtp-in.mxhero.com.", "deep 3600 IN MX 20 mail.%s." % name]}
        if provider != "bind":
            section["provider"] = provider
        domains.append({"name": name, "dns": section})
    return {"domains": domains}


def engine_for(lab, provider):
    params = dns_module.ARGSPEC.validate(provider_args(lab, zone(provider), zone_scan=True)).validated_parameters
    return dns_module.build_engine(params)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10000, help="filler records per zone")
    parser.add_argument("--providers", default=",".join(PROVIDERS))
    args = parser.parse_args()
    providers = [p for p in args.providers.split(",") if p]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estate.yml"
        path.write_text(yaml.safe_dump(estate(providers, args.records)))
        started = time.perf_counter()
        lab_cli.up(str(path), str(Path(tmp) / "run"), quiet=True)
        print("lab up with %d zones of %d records: %.1f s" % (len(providers), args.records,
                                                               time.perf_counter() - started))
        lab = Lab(Path(tmp) / "run")
        try:
            print("%-18s %9s %9s %10s %10s  %s" % ("provider", "kept", "read s", "audit s", "found", "mxHero"))
            for provider in providers:
                engine = engine_for(lab, provider)
                start = time.perf_counter()
                rrsets = engine.provider.read_zone()
                read = time.perf_counter() - start
                count = sum(len(r.values) for r in rrsets)
                engine = engine_for(lab, provider)
                start = time.perf_counter()
                mx = engine.mx(check_mode=True, zone_scan=True)
                engine.spf(check_mode=True, zone_scan=True)
                audit = time.perf_counter() - start
                found = [f["object"] for f in mx["findings"] if f["kind"] == "mx_record"]
                print("%-18s %9d %9.2f %10.2f %10d  %s" % (provider, count, read, audit, len(found),
                                                           "; ".join(found)))
        finally:
            lab_cli.down(str(Path(tmp) / "run"))


if __name__ == "__main__":
    main()
