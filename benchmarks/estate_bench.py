"""Audit cost vs Ansible's own cost: playbooks/audit.yml against ansible.builtin.ping over the same hosts.

    .venv/bin/python benchmarks/estate_bench.py --domains 1000 --forks 10
    .venv/bin/python benchmarks/estate_bench.py --domains 400 --mixed-providers
    .venv/bin/python benchmarks/estate_bench.py --domains 1000 --mixed-providers --preflight

Builds a lab estate of N domains (a realistic mix: mxHero MX next to others, SPF
includes, clean domains), brings the lab up, then times
  1. ansible -m ansible.builtin.ping over every host (what Ansible itself costs),
  2. ansible-playbook playbooks/audit.yml over the same hosts and forks,
and prints the ratio, peak memory (max RSS of the ansible process tree) and cost per domain. With --preflight,
  3. ansible-playbook playbooks/preflight.yml over the same hosts and forks, against the audit's time.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lab")]

from unroute_lab import cli as lab_cli  # noqa: E402


PROVIDERS = ("bind", "route53", "cloudflare", "powerdns", "azure", "google_cloud_dns", "lexicon")


def estate(n, mixed=False):
    domains = []
    for i in range(n):
        kind = i % 4
        records = ["@ 3600 IN MX 20 mail.example.net."]
        if kind in (0, 1):
            records.append("@ 3600 IN MX 10 smtp-in.mxhero.com.")
        if kind in (0, 2):
            records.append('@ 3600 IN TXT "v=spf1 include:_spf.google.com include:spf.mxhero.com ~all"')
        else:
            records.append('@ 3600 IN TXT "v=spf1 include:_spf.google.com ~all"')
        section = {"records": records}
        if mixed and PROVIDERS[i % len(PROVIDERS)] != "bind":
            # Round-robin over the lab's hosted providers: a mixed-provider estate.
            section["provider"] = PROVIDERS[i % len(PROVIDERS)]
        domains.append({"name": "d%05d.test" % i, "platform": "other", "dns": section})
    return {"domains": domains}


def _tree_rss(root):
    """Memory of ``root`` and every process below it (bytes): the sum of each one's proportional set size (PSS:
    pages a fork shares with its parent counted once, split between them), or of RSS where PSS is not there."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = (int(fields[1]), int(fields[21]) * os.sysconf("SC_PAGE_SIZE"))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss(pid, parents.get(pid, (0, 0))[1])
        todo.extend(child for child, (parent, _rss) in parents.items() if parent == pid)
    return total


def _pss(pid, rss):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss


def timed(cmd, env):
    """Wall and CPU seconds of ``cmd``, and the peak resident memory of its whole process tree (sampled)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.5)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - start
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(out[-3000:])
        raise SystemExit("%s failed (%d)" % (" ".join(cmd[:2]), proc.returncode))
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, peak[0] / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--mixed-providers", action="store_true",
                        help="spread the domains over every DNS provider of the lab (BIND, Route 53, Cloudflare, PowerDNS, "
                        "Azure DNS, Google Cloud DNS, dns-lexicon on PowerDNS)")
    parser.add_argument("--preflight", action="store_true", help="also time playbooks/preflight.yml")
    parser.add_argument("--engine", default="per_host", choices=("estate", "per_host"))
    parser.add_argument("--real-run", action="store_true", help="also time playbooks/unroute.yml after the audit")
    parser.add_argument("--concurrency", type=int, help="unroute_concurrency for the estate engine")
    parser.add_argument("--unlimited-budgets", action="store_true",
                        help="tell the collection no request budget binds (UNROUTE_BUDGETS): the path's own cost, "
                             "not the vendors' default limits (the lab enforces none unless its estate says so)")
    parser.add_argument("--no-ping", action="store_true", help="skip the ping baseline (10,000 hosts: half an hour)")
    parser.add_argument("--keep-report", help="copy the audit's report and run record to this folder")
    parser.add_argument("--profile", help="write a cProfile of the estate task to this file (pstats format)")
    args = parser.parse_args()
    venv_bin = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "estate.yml").write_text(yaml.safe_dump(estate(args.domains, args.mixed_providers)))
        start = time.perf_counter()
        lab_cli.up(str(tmp / "estate.yml"), str(tmp / "run"), quiet=True)
        lab_up = time.perf_counter() - start
        inventory = str(tmp / "run" / "inventory.yml")
        env = dict(os.environ, PATH="%s:%s" % (venv_bin, os.environ.get("PATH", "")),
                   ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp / "reports"),
                   ANSIBLE_FORKS=str(args.forks),
                   )
        if args.unlimited_budgets:
            env["UNROUTE_BUDGETS"] = json.dumps(dict((kind, {"rate": 100000, "per": 1, "burst": 100000})
                                                     for kind in ("cloudflare", "route53", "azure",
                                                                  "google_cloud_dns", "exo", "google")))
        if args.profile:
            env["UNROUTE_ESTATE_PROFILE"] = os.path.abspath(args.profile)
        engine = ["-e", "unroute_engine=%s" % args.engine, "-e", "unroute_fail_on_error=false"]
        if args.concurrency:
            engine += ["-e", "unroute_concurrency=%d" % args.concurrency]
        try:
            ping = ping_cpu = float("nan")
            if not args.no_ping:
                ping, ping_cpu, _ = timed([str(venv_bin / "ansible"), "all", "-i", inventory, "-m",
                                           "ansible.builtin.ping"], env)
            audit, audit_cpu, rss = timed([str(venv_bin / "ansible-playbook"), "-i", inventory,
                                           str(ROOT / "playbooks" / "audit.yml")] + engine, env)
            if args.keep_report:
                os.makedirs(args.keep_report, exist_ok=True)
                for made in (tmp / "reports").glob("audit-*"):
                    shutil.copy(str(made), args.keep_report)
            if args.preflight:
                preflight, preflight_cpu, _ = timed([str(venv_bin / "ansible-playbook"), "-i", inventory,
                                                     str(ROOT / "playbooks" / "preflight.yml")], env)
            real = None
            if args.real_run:
                real, real_cpu, real_rss = timed([str(venv_bin / "ansible-playbook"), "-i", inventory,
                                           str(ROOT / "playbooks" / "unroute.yml")] + engine
                                          # The run itself, not the brake's refusal (over 50 domains it would stop
                                          # the run, as it should): as after a reviewed audit, one pass.
                                          + ["-e", "unroute_force=true"], env)
        finally:
            lab_cli.down(str(tmp / "run"))
    n = args.domains
    print("domains: %d  forks: %d  cores: %d" % (n, args.forks, os.cpu_count()))
    print("lab up: %.1fs" % lab_up)
    print("ping:  %.1fs wall, %.1fs cpu, %.1f ms/domain" % (ping, ping_cpu, ping / n * 1000))
    print("audit: %.1fs wall, %.1fs cpu, %.1f ms/domain" % (audit, audit_cpu, audit / n * 1000))
    print("ratio audit/ping: %.2f (engine %s; target estate <= 0.15, per_host <= 1.5)" % (audit / ping, args.engine))
    if args.preflight:
        print("preflight: %.1fs wall, %.1fs cpu, %.1f ms/domain" % (preflight, preflight_cpu, preflight / n * 1000))
        print("ratio preflight/audit: %.2f (target <= 1.0)" % (preflight / audit))
    if real is not None:
        print("real run: %.1fs wall, %.1fs cpu; ratio real/ping: %.2f (target estate <= 0.3, per_host <= 1.0)"
              % (real, real_cpu, real / ping))
    print("peak memory (PSS) of the audit's process tree: %.0f MiB%s" % (
        rss / 1024, "; of the real run's: %.0f MiB" % (real_rss / 1024) if real is not None else ""))


if __name__ == "__main__":
    main()
