"""DNS engine figures against a real BIND 9: lab start-up, audit, real run and second run per zone.

    .venv/bin/python benchmarks/dns_bench.py --zones 500

Runs the engines directly (no Ansible) to measure what the collection itself costs;
benchmarks/estate_bench.py measures whole playbooks.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / ".collections"), str(ROOT / "lab")]

from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DnsEngine  # noqa: E402
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rfc2136 import Rfc2136Provider  # noqa: E402
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint  # noqa: E402
from unroute_lab import cli as lab_cli  # noqa: E402
from unroute_lab.manifest import Lab  # noqa: E402


def estate(n):
    return {"domains": [{"name": "bench%04d.test" % i, "dns": {"records": [
        "@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.example.net.",
        '@ 3600 IN TXT "v=spf1 include:_spf.google.com include:spf.mxhero.com ~all"',
        '@ 3600 IN TXT "google-site-verification=abc"']}} for i in range(n)]}


def sweep(lab, zones, check_mode):
    d = lab.dns
    fp = Fingerprint()
    changed = 0
    start = time.perf_counter()
    for zone in zones:
        provider = Rfc2136Provider(zone, server=d["server"], port=d["port"], key_name=d["key_name"],
                                   key_secret=lab.tsig_secret)
        engine = DnsEngine(provider, zone, fp)
        changed += engine.mx(check_mode=check_mode)["changed"]
        changed += engine.spf(check_mode=check_mode)["changed"]
    return time.perf_counter() - start, changed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zones", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estate.yml"
        path.write_text(yaml.safe_dump(estate(args.zones)))
        t0 = time.perf_counter()
        lab_cli.up(str(path), str(Path(tmp) / "run"), quiet=True)
        up = time.perf_counter() - t0
        lab = Lab(Path(tmp) / "run")
        zones = lab.dns["zones"]
        try:
            audit, planned = sweep(lab, zones, True)
            real, changed = sweep(lab, zones, False)
            second, left = sweep(lab, zones, False)
        finally:
            lab_cli.down(str(Path(tmp) / "run"))
    n = len(zones)
    print("zones: %d" % n)
    print("lab up (BIND start + %d zones): %.2fs" % (n, up))
    print("audit  (check mode, MX+SPF): %.2fs  %.1f ms/zone  planned changes: %d" % (audit, audit / n * 1000, planned))
    print("real run (MX+SPF):           %.2fs  %.1f ms/zone  changes: %d" % (real, real / n * 1000, changed))
    print("second run:                  %.2fs  %.1f ms/zone  changes: %d" % (second, second / n * 1000, left))
    print("peak RSS of this process: %.0f MiB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    if planned != 2 * n or changed != 2 * n or left != 0:
        sys.exit("unexpected counts")


if __name__ == "__main__":
    main()
