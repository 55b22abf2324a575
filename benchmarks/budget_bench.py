"""Budgets under load: N domains in one Cloudflare token and N in one AWS account, with the lab enforcing a
scaled-down vendor limit (default 60 requests per 15 s per account, Cloudflare's block scaled to the window),
through the estate engine (the playbooks' default) or the per-host path (--engine per_host).

    .venv/bin/python benchmarks/budget_bench.py --domains 300 --rate 60 --per 15
    .venv/bin/python benchmarks/budget_bench.py --domains 300 --rate 60 --per 15 --engine per_host --forks 10

Prints the domains in error (the run record's status), the requests each account spent and the
throttling answers it met (the budget state files of module_utils/_budget.py), and the wall time against
(requests made / budget): the accounts run side by side, so the bound is the slower account's.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lab")]

from unroute_lab import cli as lab_cli  # noqa: E402

PROVIDERS = ("cloudflare", "route53")


def estate(n, rate, per):
    domains = []
    for provider in PROVIDERS:
        for i in range(n):
            records = ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.example.net."]
            records.append('@ 3600 IN TXT "v=spf1 include:_spf.google.com include:spf.mxhero.com ~all"' if i % 2
                           else '@ 3600 IN TXT "v=spf1 include:_spf.google.com ~all"')
            domains.append({"name": "b%04d.%s.test" % (i, provider), "platform": "other",
                            "dns": {"provider": provider, "records": records}})
    budgets = {"cloudflare": {"rate": rate, "per": per, "block": per}, "route53": {"rate": rate, "per": per}}
    return {"domains": domains, "budgets": budgets}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--domains", type=int, default=300, help="domains per account")
    parser.add_argument("--rate", type=int, default=60)
    parser.add_argument("--per", type=float, default=15.0)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--playbook", default="audit.yml")
    parser.add_argument("--engine", default="estate", choices=("estate", "per_host"))
    parser.add_argument("--concurrency", type=int, default=8, help="unroute_concurrency (estate engine)")
    parser.add_argument("--no-budget", action="store_true",
                        help="the same run with no lab budget and none told: what the path itself costs")
    args = parser.parse_args()
    venv_bin = Path(sys.executable).parent
    # What the play tells the collection: the lab's limit with a little headroom, as one would under a vendor's
    # limit whose window's edges one does not see.
    told = dict((p, {"rate": args.rate * 0.95, "per": args.per, "burst": max(1, args.rate // 2)}) for p in PROVIDERS)
    if args.no_budget:
        told = dict((p, {"rate": 100000, "per": 1}) for p in PROVIDERS)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = estate(args.domains, args.rate, args.per)
        if args.no_budget:
            data.pop("budgets")
        (tmp / "estate.yml").write_text(yaml.safe_dump(data))
        lab_cli.up(str(tmp / "estate.yml"), str(tmp / "run"), quiet=True)
        budgets = tmp / "budgets"
        env = dict(os.environ, PATH="%s:%s" % (venv_bin, os.environ.get("PATH", "")),
                   ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp / "reports"),
                   ANSIBLE_FORKS=str(args.forks), UNROUTE_BUDGET_DIR=str(budgets))
        try:
            start = time.perf_counter()
            proc = subprocess.run([str(venv_bin / "ansible-playbook"), "-i", str(tmp / "run" / "inventory.yml"),
                                   str(ROOT / "playbooks" / args.playbook), "-e",
                                   json.dumps({"unroute_budgets": told, "unroute_engine": args.engine,
                                               "unroute_concurrency": args.concurrency,
                                               "unroute_fail_on_error": False})],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            wall = time.perf_counter() - start
        finally:
            lab_cli.down(str(tmp / "run"))
        states = [json.loads(p.read_text()) for p in sorted(budgets.glob("*.json"))]
        records = sorted((tmp / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        record = json.loads(records[-1].read_text()) if records else {"domains": []}
    in_error = sorted(d["domain"] for d in record["domains"] if d.get("status") == "error")
    recap = record["domains"]
    spent = [int(s.get("spent", 0)) for s in states]
    throttled = sum(int(s.get("throttled", 0)) for s in states)
    bound = max(spent or [0]) / (args.rate / args.per)
    print("engine: %s (ansible-playbook playbooks/%s, %s)" % (
        args.engine, args.playbook, "concurrency %d" % args.concurrency if args.engine == "estate"
        else "forks %d" % args.forks))
    print("domains: %d per account, %d accounts (one Cloudflare token, one AWS access key)"
          % (args.domains, len(PROVIDERS)))
    print("lab budget: %s; told the collection: %s"
          % ("none" if args.no_budget else "%d requests per %gs per account" % (args.rate, args.per), told))
    print("domains in the run record: %d; in error: %d %s" % (len(recap), len(in_error), in_error[:10]))
    print("requests spent per account: %s; throttling answers met: %d" % (spent, throttled))
    print("wall: %.1fs; requests/budget (slower account): %.1fs; ratio %.2f (target <= 1.2)"
          % (wall, bound, wall / bound if bound else float("nan")))
    if proc.returncode not in (0, 2) or not recap:
        print(proc.stdout[-3000:])


if __name__ == "__main__":
    main()
