"""Issue 21 (1, 2, 5): the estate engine (one task on the controller, domains concurrently) and the per-host
engine (the role on every domain) write the same run record for the same estate: audit, real run, restore.
A failing domain stops at its first error and the others go on; a long run says where it is in plain lines,
never one line per task and domain."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from helpers import DEFAULT_ESTATE, ROOT

pytestmark = pytest.mark.lab
BIN = os.path.dirname(sys.executable)
# What differs between any two runs: when, how long, which run, and the MAC over them; between two labs also
# the lab's clock (Google's audit-log times), folders and ports, and so the digests over states naming them
# (the states themselves are compared).
_VOLATILE = {"started", "finished", "id", "run_id", "mac", "elapsed", "duration", "generated", "time", "waited",
             "plan_digest"}
_PORT = re.compile(r"(127\.0\.0\.\d+\]?):\d+")
_POSTFIX_TMP = re.compile(r"/tmp/unroute-lab-postfix-\w+")
# A list of quoted records in a message follows the order the DNS server answered in (BIND rotates RRsets).
_QUOTED_LIST = re.compile(r'"[^"]*"(?:; "[^"]*")+')


def _play(lab, reports, playbook, *extra, inventory=(), env=None):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(reports), **(env or {}))
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml")]
    for path in inventory:
        cmd += ["-i", str(path)]
    done = subprocess.run(cmd + [str(ROOT / "playbooks" / playbook), "-e", "unroute_fail_on_error=false"]
                          + list(extra), cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    newest = max(reports.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return newest, json.loads(newest.read_text()), done.stdout


def _stable(value, lab):
    if isinstance(value, dict):
        return {k: _stable(v, lab) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v, lab) for v in value]
    if isinstance(value, str):
        value = _POSTFIX_TMP.sub("<postfix>", _PORT.sub(r"\1:<port>", value.replace(str(lab.dir), "<lab>")))
        value = _QUOTED_LIST.sub(lambda m: "; ".join(sorted(m.group(0).split("; "))), value)
        # A lab's Postfix main.cf (read whole into the mail-server plan state) is written in no fixed line order.
        return "\n".join(sorted(value.splitlines())) if "\n" in value else value
    return value


def _differences(one, other):
    """Where the first domains' records differ, as text for the assertion message."""
    theirs = {d["domain"]: d for d in other["domains"]}
    out = []
    for mine in one["domains"]:
        if mine != theirs.get(mine["domain"]):
            a = json.dumps(mine, indent=0, sort_keys=True).splitlines()
            b = json.dumps(theirs.get(mine["domain"]), indent=0, sort_keys=True).splitlines()
            lines = [line for line in difflib.unified_diff(a, b, n=0, lineterm="") if line[:1] in "+-"]
            out.append("%s: %s" % (mine["domain"], " | ".join(lines)))
    return "; ".join(out)[:6000]


def test_both_engines_write_the_same_run_records_for_the_default_estate(lab_factory, tmp_path):
    records = {}
    # The brake's planning pass is tested in test_brakes.py: a limit no run reaches skips it here.
    for engine in ("estate", "per_host"):
        lab = lab_factory(DEFAULT_ESTATE, name=engine)
        out = tmp_path / engine
        args = ("-e", "unroute_engine=%s" % engine, "-e", "unroute_max_changed_domains=1000")
        _p, audit, audit_out = _play(lab, out / "audit", "audit.yml", *args)
        # Both engines run a domain's steps as one unit, domains side by side. spf-cross.test's SPF chain crosses
        # into spf-chain.test, another domain of the run, whose own run removes the term: whether spf-cross.test
        # is read before or after that write is a race between concurrent domains (threads or forks) in either
        # engine. One domain at a time, in inventory order (spf-chain.test first), both read it after.
        one_at_a_time = ("-e", "unroute_concurrency=1") if engine == "estate" else ("--forks", "1")
        run_path, run, _o = _play(lab, out / "run", "unroute.yml", *(args + one_at_a_time))
        _p, restore, _o = _play(lab, out / "restore", "restore.yml", "-e", "unroute_record=%s" % run_path, *args)
        records[engine] = {"audit": _stable(audit, lab), "run": _stable(run, lab), "restore": _stable(restore, lab),
                           "audit_out": audit_out}
    estate, per_host = records["estate"], records["per_host"]
    assert "estate: " in estate["audit_out"] and "estate: " not in per_host["audit_out"], "the engines were not chosen"
    for mode in ("audit", "run", "restore"):
        assert estate[mode]["summary"]["domains"] >= 20
        assert estate[mode] == per_host[mode], "%s: %s" % (mode, _differences(estate[mode], per_host[mode]))
    assert estate["run"]["summary"]["changed"] >= 10


def _estate(n, broken):
    domains = []
    for i in range(n):
        name = "e%02d.test" % i
        records = ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.example.net.",
                   '@ 3600 IN TXT "v=spf1 include:spf.mxhero.com ~all"']
        domains.append({"name": name, "platform": "other", "dns": {"records": records}})
    return {"domains": domains}


def test_a_failing_domain_stops_at_its_first_error_and_the_others_go_on(lab_factory, tmp_path):
    lab = lab_factory(_estate(12, broken="e03.test"), name="fail")
    # One domain's DNS server is a port nothing listens on: its first DNS step fails.
    extra = tmp_path / "broken.yml"
    extra.write_text(yaml.safe_dump({"all": {"hosts": {"e03.test": {"unroute_dns_port": 9}}}}))
    # The default engine: the estate engine.
    _p, run, stdout = _play(lab, tmp_path / "run", "unroute.yml", "-e", "unroute_concurrency=4", inventory=[extra])
    by_name = {d["domain"]: d for d in run["domains"]}
    broken = by_name.pop("e03.test")
    assert broken["status"] == "error"
    assert [m["module"] for m in broken["modules"]] == ["dns_mx"], "steps after the first error ran"
    assert all(d["status"] == "changed" for d in by_name.values()), {k: d["status"] for k, d in by_name.items()}
    assert len(by_name) == 11

    # Concurrency above one, progress in plain lines (done of total, changed, errors, time), none per task.
    assert "12 domains, 4 at a time" in stdout
    progress = [line for line in stdout.splitlines() if re.search(r"estate: \d+/12 domains done", line)]
    assert progress and "12/12 domains done, 11 changed, 1 errors" in progress[-1]
    assert int(re.search(r"at most (\d+) at once", progress[-1]).group(1)) > 1
    assert len(progress) <= 12
    assert not re.search(r"^(ok|changed|skipping|fatal): \[e\d\d\.test\]", stdout, re.M), "per-task lines per domain"
    assert "e03.test" in stdout  # its error is said once



def _lines_by_task(stdout):
    """Each host's task lines at default verbosity: host -> [(task, status)], in order."""
    out, task = {}, None
    for line in stdout.splitlines():
        banner = re.match(r"TASK \[(.*)\] \*+$", line)
        if banner:
            task = banner.group(1)
            continue
        shown = re.match(r"^(ok|changed|fatal|skipping): \[([^\]]+)\]", line)
        if shown:
            out.setdefault(shown.group(2), []).append((task, shown.group(1)))
    return out


_USER_PLAY = """
- name: A user's own play that reads the role's results
  hosts: all:!unroute_mail_servers
  gather_facts: false
  roles:
    - role: mxhero.unroute.unroute
  tasks:
    - name: Each step's result under its documented name, as in the record
      ansible.builtin.assert:
        that:
          - unroute_result_dns_mx == unroute_report_entry.results.unroute_result_dns_mx
          - >-
            (unroute_failure is none) if inventory_hostname != 'e01.test'
            else (unroute_failure.msg is search('127.0.0.1:9'))
          - >-
            (unroute_result_dns_spf == unroute_report_entry.results.unroute_result_dns_spf)
            if inventory_hostname != 'e01.test' else (unroute_result_dns_spf is not defined)
"""


def test_the_per_host_path_runs_one_task_per_domain_and_writes_the_same_record(lab_factory, tmp_path):
    lab = lab_factory(_estate(4, broken="e01.test"), name="one-task")
    extra = tmp_path / "broken.yml"
    extra.write_text(yaml.safe_dump({"all": {"hosts": {"e01.test": {"unroute_dns_port": 9}}}}))
    per_host = ("-e", "unroute_engine=per_host")
    _p, audit, stdout = _play(lab, tmp_path / "audit", "audit.yml", *per_host, inventory=[extra])
    _p, estate_audit, _o = _play(lab, tmp_path / "estate-audit", "audit.yml", "-e", "unroute_engine=estate",
                                 inventory=[extra])
    assert _stable(audit, lab) == _stable(estate_audit, lab), _differences(audit, estate_audit)

    # One task does the domain's work; the role's argument check and the hand-over to the report are bookkeeping,
    # and the mail servers' task path is skipped. No module's own task shows.
    lines = _lines_by_task(stdout)
    lines.pop("localhost")
    assert sorted(lines) == ["e00.test", "e01.test", "e02.test", "e03.test"]
    for host, shown in lines.items():
        doing = [task for task, status in shown if status != "skipping"]
        assert [t.split(" : ", 1)[1] for t in doing[1:]] == ["Platform and DNS",
                                                            "Hand this domain's record to the report"], (host, shown)
        assert doing[0].startswith("mxhero.unroute.unroute : Validating arguments"), (host, shown)
    banners = set(re.findall(r"^TASK \[mxhero\.unroute\.unroute : ([^\]]*)\]", stdout, re.M))
    assert {b for b in banners if not b.startswith("Validating arguments")} == {
        "Platform and DNS", "Hand this domain's record to the report",
        "Mail servers over SSH, then DNS, or the preflight"}

    # A domain in error says so in one line where its task runs, and the play goes on with it and the others.
    assert ("mxhero.unroute.unroute : Platform and DNS", "fatal") in lines["e01.test"]
    assert "cannot reach 127.0.0.1:9" in stdout and "...ignoring" in stdout
    _p, run, stdout = _play(lab, tmp_path / "run", "unroute.yml", *per_host, inventory=[extra])
    by_name = {d["domain"]: d for d in run["domains"]}
    broken = by_name.pop("e01.test")
    assert broken["status"] == "error" and "127.0.0.1:9" in broken["errors"][0]["msg"]
    assert [m["module"] for m in broken["modules"]] == ["dns_mx"], "steps after the first error ran"
    assert {d["status"] for d in by_name.values()} == {"changed"}
    audited = {d["domain"]: d for d in audit["domains"]}
    # The same steps as the audit's, and the check of the changed zone after them.
    assert {m["module"] for m in by_name["e00.test"]["modules"]} == {
        m["module"] for m in audited["e00.test"]["modules"]} | {"dns_mail_zone"}
    assert re.search(r"^e01\.test +: .*failed=0 .*ignored=1", stdout, re.M), stdout[-2000:]

    # Plays that read unroute_result_<step> and unroute_failure after the role still find them.
    play = tmp_path / "user.yml"
    play.write_text(_USER_PLAY)
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"), "-i",
                           str(extra), "--check", str(play)], cwd=str(ROOT), env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "All assertions passed" in done.stdout


# The lab's Cloudflare enforces 10 requests per 2 s per token (then blocks it for 3 s).
_CF_BUDGET = {"cloudflare": {"rate": 10, "per": 2, "block": 3}}


def _cloudflare_estate(n, budgets=None):
    records = ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.example.net."]
    estate = {"domains": [{"name": "cf%02d.test" % i, "platform": "other",
                           "dns": {"provider": "cloudflare", "records": records}} for i in range(n)]}
    return dict(estate, budgets=budgets) if budgets else estate


def _budget_states(directory):
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def _elapsed(stdout):
    """The estate task's own time, from its last progress line (Ansible's start-up left out)."""
    minutes, seconds = re.findall(r"domains done, .*?(?:(\d+)m)?(\d+)s elapsed", stdout)[-1]
    return int(minutes or 0) * 60 + int(seconds)


def test_the_estate_engine_spends_the_plays_budgets_and_meets_no_throttling(lab_factory, tmp_path):
    lab = lab_factory(_cloudflare_estate(4, _CF_BUDGET), name="budget")
    budgets = tmp_path / "budgets"
    # Told a little under the lab's limit, as one would under a vendor's.
    told = json.dumps({"unroute_budgets": {"cloudflare": {"rate": 8, "per": 2, "burst": 6}}})
    _p, audit, stdout = _play(lab, tmp_path / "audit", "audit.yml", "-e", told, "-e", "unroute_concurrency=4",
                              env={"UNROUTE_BUDGET_DIR": str(budgets)})
    assert "estate: 4 domains" in stdout
    assert all(d["status"] == "would_change" for d in audit["domains"]), [d["status"] for d in audit["domains"]]
    states = _budget_states(budgets)
    assert states and sum(int(s.get("spent", 0)) for s in states) > 4
    # The vendor's default (1,080 per 5 minutes, 120 at once) would have overrun the lab's 10 per 2 s.
    assert sum(int(s.get("throttled", 0)) for s in states) == 0, states


# unroute_slice_count: the slice count's first name, still taken.
@pytest.mark.parametrize("variable", ["unroute_job_slices", "unroute_slice_count"])
def test_the_estate_engine_takes_its_slices_share_of_each_budget(lab_factory, tmp_path, variable):
    lab = lab_factory(_cloudflare_estate(2), name="slices")   # the lab enforces no budget here
    budgets = tmp_path / "budgets"
    # 16 requests/s with 4 at once, shared by 4 job slices: this slice may send 4/s, 1 at once.
    told = json.dumps({"unroute_budgets": {"cloudflare": {"rate": 16, "per": 1, "burst": 4}}})
    _p, audit, stdout = _play(lab, tmp_path / "audit", "audit.yml", "-e", told, "-e", "%s=4" % variable,
                              env={"UNROUTE_BUDGET_DIR": str(budgets)})
    assert len(audit["domains"]) == 2
    spent = sum(int(s.get("spent", 0)) for s in _budget_states(budgets))
    assert spent >= 12
    # Whole seconds in the progress line: one second of rounding (unsliced, the same takes about a second).
    assert _elapsed(stdout) >= (spent - 1) / 4.0 - 1, (spent, stdout[-1500:])


def test_the_estate_engine_keeps_to_the_limit(lab_factory, tmp_path):
    lab = lab_factory(_estate(3, broken=None), name="limit")
    # As AWX's Limit field passes it: the domains, and localhost for the plays on the controller.
    _p, audit, stdout = _play(lab, tmp_path / "audit", "audit.yml", "--limit", "e01.test,localhost")
    assert "estate: 1 domains" in stdout
    assert [d["domain"] for d in audit["domains"]] == ["e01.test"]


def test_a_limit_without_localhost_runs_the_role_on_its_domains(lab_factory, tmp_path):
    lab = lab_factory(_estate(3, broken=None), name="limit-only")
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path / "reports"))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / "audit.yml"), "--limit", "e01.test"],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    # The plays on the controller do not run (the engine, the report): the role audits the domain, as it did
    # before the estate engine was the default; no other domain is touched.
    assert "estate: " not in done.stdout
    assert re.search(r"^ok: \[e01\.test\]", done.stdout, re.M), done.stdout[-3000:]
    assert not re.search(r"\[e0[02]\.test\]", done.stdout)


@pytest.mark.parametrize("playbook", ["audit.yml", "unroute.yml", "restore.yml"])
def test_a_misspelt_engine_stops_the_run_before_any_domain(tmp_path, playbook):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"a.test": {"unroute_dns_port": 9}}}}))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory),
                           str(ROOT / "playbooks" / playbook), "-e", "unroute_engine=per-host",
                           "-e", "unroute_record=missing.json"], cwd=str(ROOT), env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert "unroute_engine is per-host: give estate (the default) or per_host" in done.stdout
    assert "a.test" not in done.stdout.split("PLAY RECAP")[0], "a domain was worked on"
    assert not list(tmp_path.glob("*.html"))
