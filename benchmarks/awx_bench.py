"""Figures for AWX-sized estates (issue 18), measured, not asserted.

    .venv/bin/python benchmarks/awx_bench.py runner --domains 1000 3000 --forks 10
    .venv/bin/python benchmarks/awx_bench.py unroute --domains 1000 --forks 10
    .venv/bin/python benchmarks/awx_bench.py inventory --domains 10000

runner:    playbooks/audit.yml through ansible-runner (the engine AWX uses: private data dir with project,
           inventory, env) against a lab of N domains; wall time and peak RSS of the largest process of the job.
unroute:   the real run (playbooks/unroute.yml) of N domains against ansible.builtin.ping over the same hosts.
inventory: the estate inventory plugin's platform and DNS-provider detection for N domains against the lab's DNS.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lab"), str(ROOT / "benchmarks")]

from estate_bench import estate  # noqa: E402
from unroute_lab import cli as lab_cli  # noqa: E402

BIN = Path(sys.executable).parent


def timed(cmd, env, cwd=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(proc.stdout[-3000:])
        raise SystemExit("%s failed (%d)" % (" ".join(str(c) for c in cmd[:3]), proc.returncode))
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, after.ru_maxrss


def _env(tmp, forks):
    return dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
                ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp / "reports"),
                ANSIBLE_FORKS=str(forks))


def lab(tmp, n):
    (tmp / "estate.yml").write_text(yaml.safe_dump(estate(n)))
    start = time.perf_counter()
    lab_cli.up(str(tmp / "estate.yml"), str(tmp / "run"), quiet=True)
    return time.perf_counter() - start


def runner(n, forks):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        up = lab(tmp, n)
        pdd = tmp / "pdd"
        (pdd / "inventory").mkdir(parents=True)
        (pdd / "project").symlink_to(ROOT)
        (pdd / "inventory" / "hosts.yml").write_text((tmp / "run" / "inventory.yml").read_text())
        (pdd / "env").mkdir()
        (pdd / "env" / "envvars").write_text(yaml.safe_dump({"UNROUTE_REPORT_DIR": str(tmp / "reports"),
                                                             "ANSIBLE_FORKS": str(forks)}))
        (pdd / "env" / "extravars").write_text(yaml.safe_dump({"unroute_fail_on_error": False}))
        try:
            wall, cpu, rss = timed([str(BIN / "ansible-runner"), "run", str(pdd), "-p", "playbooks/audit.yml",
                                    "--ident", "bench"], _env(tmp, forks))
        finally:
            lab_cli.down(str(tmp / "run"))
        status = (pdd / "artifacts" / "bench" / "status").read_text()
    print("runner audit: %d domains, %d forks: lab up %.1fs, %.1fs wall, %.1fs cpu, %.1f ms/domain, peak RSS %.0f MiB, "
          "status %s" % (n, forks, up, wall, cpu, wall / n * 1000, rss / 1024, status))


def unroute(n, forks):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        up = lab(tmp, n)
        inventory = str(tmp / "run" / "inventory.yml")
        env = _env(tmp, forks)
        try:
            ping, _c, _r = timed([str(BIN / "ansible"), "all", "-i", inventory, "-m", "ansible.builtin.ping"], env)
            run, cpu, rss = timed([str(BIN / "ansible-playbook"), "-i", inventory, str(ROOT / "playbooks" / "unroute.yml"),
                                   "-e", "unroute_fail_on_error=false"], env, cwd=str(ROOT))
        finally:
            lab_cli.down(str(tmp / "run"))
    print("real run: %d domains, %d forks: lab up %.1fs, ping %.1fs, unroute %.1fs wall (%.1fs cpu, %.1f ms/domain), "
          "ratio %.2f, peak RSS %.0f MiB" % (n, forks, up, ping, run, cpu, run / n * 1000, run / ping, rss / 1024))


def inventory(n):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        up = lab(tmp, n)
        try:
            wall, cpu, rss = timed([str(BIN / "ansible-inventory"), "-i", str(tmp / "run" / "domains.estate.yml"),
                                    "--list", "--output", str(tmp / "inv.json")], _env(tmp, 1))
        finally:
            lab_cli.down(str(tmp / "run"))
    print("inventory plugin: %d domains: lab up %.1fs, detection %.1fs wall (%.1fs cpu), peak RSS %.0f MiB"
          % (n, up, wall, cpu, rss / 1024))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["runner", "unroute", "inventory"])
    parser.add_argument("--domains", type=int, nargs="+", default=[1000])
    parser.add_argument("--forks", type=int, default=10)
    args = parser.parse_args()
    print("cores: %d" % os.cpu_count())
    for n in args.domains:
        if args.what == "runner":
            runner(n, args.forks)
        elif args.what == "unroute":
            unroute(n, args.forks)
        else:
            inventory(n)


if __name__ == "__main__":
    main()
