"""Issue 26: run records an auditor can trust. Each record carries a MAC under a key kept apart from the
reports; a record, plan or artifact changed after its run is refused with one line naming the file; files
are unique per run, written exclusively (0600, folder 0700), never through a symlink; relative paths are
taken from the current folder; fields of a record never build a path; drifted domains fail the run."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys

import pytest
import yaml

from helpers import ROOT, run_module

from ansible_collections.mxhero.unroute.plugins.module_utils._plan import module_digest
from ansible_collections.mxhero.unroute.plugins.module_utils._report import domain_record

BIN = os.path.dirname(sys.executable)
STARTED = "2026-03-01T10:00:00Z"


def _removed_mx(domain, value="10 smtp-in.mxhero.com."):
    return {"platform": "dns", "kind": "mx_record", "object": "%s. MX %s" % (domain, value),
            "evidence": ["host smtp-in.mxhero.com"], "action": "removed",
            "before": {"record": domain + ".", "type": "MX", "ttl": 3600, "value": value}, "after": None}


def _entry(domain):
    found = _removed_mx(domain)
    return {"domain": domain, "platform": "other", "errors": [], "results": {"unroute_result_dns_mx": {
        "changed": True, "findings": [found], "removed": [dict(found["before"])]}}}


def _write(dest, mode="unroute", started=STARTED, domains=("a.test",), **extra):
    args = dict(domains=[_entry(d) for d in domains], mode=mode, dest=str(dest), started=started, **extra)
    result = run_module("run_report", args, check_mode=mode == "audit")
    assert not result.get("failed"), result.get("msg")
    return result


def _sign(record):
    """Signed with the tests' key: the refusals below are about content, not about the MAC."""
    try:
        from ansible_collections.mxhero.unroute.plugins.module_utils import _record
    except ImportError:
        return record  # before issue 26 records carried no MAC
    return _record.sign(record, _record.load_key())


def _key_file(home):
    return home / "mxhero-unroute" / "record.key"


def _read(path, purpose="restore", **extra):
    return run_module("run_record", dict(path=str(path), purpose=purpose, **extra))


# -- item 2: tamper-evident -------------------------------------------------------------------------

def test_each_record_carries_a_mac_under_a_key_kept_apart(tmp_path, record_key_home):
    written = _write(tmp_path / "reports")
    record = json.loads(open(written["json_path"]).read())
    key_file = _key_file(record_key_home)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert not str(key_file).startswith(str(tmp_path / "reports"))
    mac = record["mac"]
    assert mac["alg"] == "hmac-sha256" and len(mac["key_id"]) == 16
    body = json.dumps(dict((k, v) for k, v in record.items() if k != "mac"), sort_keys=True, separators=(",", ":"))
    expected = hmac.new(key_file.read_bytes().strip(), body.encode("utf-8"), hashlib.sha256).hexdigest()
    assert mac["value"] == expected
    assert key_file.read_text().strip() not in open(written["json_path"]).read()
    read = _read(written["json_path"])
    assert not read.get("failed"), read.get("msg")
    assert read["mac"] == "signed" and list(read["domains"]) == ["a.test"]


@pytest.mark.parametrize("tamper, words", [
    (lambda r: r["domains"][0]["removed"][0].update(value="10 mail.attacker.example."), "MAC does not verify"),
    (lambda r: r["domains"][0]["findings"].pop(), "MAC does not verify"),
    (lambda r: r["run"].update(started="2020-01-01T00:00:00Z"), "MAC does not verify"),
    (lambda r: r.pop("mac"), "carries no MAC"),
    (lambda r: r["mac"].update(key_id="0123456789abcdef"), "signed with record key 0123456789abcdef"),
])
def test_a_changed_record_is_refused_naming_the_file(tmp_path, tamper, words):
    written = _write(tmp_path / "reports")
    record = json.loads(open(written["json_path"]).read())
    tamper(record)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(record))
    result = _read(forged)
    assert result.get("failed") and "\n" not in result["msg"]
    assert result["msg"].startswith("%s: " % forged) and words in result["msg"], result["msg"]
    assert "nothing was changed" in result["msg"]
    assert "record" not in result and "domains" not in result


def test_trust_unsigned_lets_an_old_record_in_but_never_a_changed_one(tmp_path):
    written = _write(tmp_path / "reports")
    record = json.loads(open(written["json_path"]).read())
    old = dict(record)
    old.pop("mac")
    (tmp_path / "old.json").write_text(json.dumps(old))
    result = _read(tmp_path / "old.json", trust_unsigned=True)
    assert not result.get("failed") and result["mac"] == "unsigned"
    assert any("carries no MAC" in w for w in result["warnings"])
    record["domains"][0]["removed"][0]["ttl"] = 60
    (tmp_path / "changed.json").write_text(json.dumps(record))
    assert "MAC does not verify" in _read(tmp_path / "changed.json", trust_unsigned=True)["msg"]


def test_record_key_from_vault_signs_and_verifies(tmp_path):
    written = _write(tmp_path / "reports", record_key="vault-kept-key-0123456789abcdef0123456789")
    assert "vault-kept-key" not in json.dumps(written)
    assert "signed with record key" in _read(written["json_path"])["msg"]
    read = _read(written["json_path"], record_key="vault-kept-key-0123456789abcdef0123456789")
    assert not read.get("failed") and read["mac"] == "signed"
    short = _read(written["json_path"], record_key="password1")
    assert short.get("failed") and "unroute_record_key: it is shorter than 32 characters" in short["msg"]
    assert "password1" not in short["msg"]


def test_a_key_file_others_may_read_is_refused(tmp_path, record_key_home):
    written = _write(tmp_path / "reports")
    key_file = _key_file(record_key_home)
    key_file.chmod(0o644)
    try:
        result = _read(written["json_path"])
    finally:
        key_file.chmod(0o600)
    assert result.get("failed") and "other users may read it (mode 0644)" in result["msg"]


def _audit_result(findings, state):
    return {"changed": False, "findings": findings, "plan_digest": module_digest(findings, state),
            "plan_state": state, "removed": [f["before"] for f in findings]}


def _planned_mx(domain, value):
    return dict(_removed_mx(domain, value), action="would_remove")


def test_plan_check_recomputes_the_approved_digest_from_the_audits_own_content():
    """An audit edited to hide a change, digest kept, approves nothing: the approved digest is computed again
    from the findings the report showed."""
    state = {"rrset": ["10 smtp-in.mxhero.com.", "20 smtp-in2.mxhero.com.", "30 mail.a.test."]}
    both = [_planned_mx("a.test", "10 smtp-in.mxhero.com."), _planned_mx("a.test", "20 smtp-in2.mxhero.com.")]
    results = {"unroute_result_dns_mx": _audit_result(both, state)}
    approved = domain_record({"domain": "a.test", "results": results})
    fresh = run_module("plan_check", dict(domain="a.test", results=results, approved=approved))
    assert not fresh.get("failed") and fresh["approved_digest"] == approved["plan_digest"]

    hidden = json.loads(json.dumps(approved))
    hidden["findings"].pop()  # the report no longer shows the second removal; every digest kept
    hidden["modules"][0]["finding_count"] = 1
    result = run_module("plan_check", dict(domain="a.test", results=results, approved=hidden))
    assert result.get("failed") and result["drifted"] is True
    assert result["msg"].startswith("a.test: the audit record does not add up: ") and "nothing was changed" in result["msg"]

    renamed = json.loads(json.dumps(approved))
    renamed["findings"][1]["object"] = "a.test. MX 20 harmless.example."
    result = run_module("plan_check", dict(domain="a.test", results=results, approved=renamed))
    assert result.get("failed") and "dns_mx" in result["msg"]

    # A record from before plan states were kept: its findings must still be the fresh plan.
    old = json.loads(json.dumps(hidden))
    for step in old["modules"]:
        step.pop("plan_state", None)
        step.pop("finding_count", None)
    result = run_module("plan_check", dict(domain="a.test", results=results, approved=old))
    assert result.get("failed") and "new: would_remove a.test. MX 20 smtp-in2.mxhero.com." in result["msg"]


# -- item 3: never lost --------------------------------------------------------------------------------

def test_two_runs_in_the_same_second_keep_both_records(tmp_path):
    first = _write(tmp_path / "reports", domains=("a.test",))
    second = _write(tmp_path / "reports", domains=("b.test",))
    assert first["json_path"] != second["json_path"] and first["html_path"] != second["html_path"]
    assert sorted(p.name for p in (tmp_path / "reports").glob("unroute-*.json")) == sorted(
        os.path.basename(r["json_path"]) for r in (first, second))
    for result, domain in ((first, "a.test"), (second, "b.test")):
        read = _read(result["json_path"])
        assert not read.get("failed"), read.get("msg")
        assert list(read["domains"]) == [domain]
        assert result["run_id"] in os.path.basename(result["json_path"])
        assert "20260301T100000Z" in os.path.basename(result["json_path"])
        # The page names the record it shows, so a reviewer can tell which file to apply.
        assert result["run_id"] in open(result["html_path"]).read()


def test_a_planted_symlink_is_never_followed(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    reports.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    try:
        from ansible_collections.mxhero.unroute.plugins.module_utils import _record
        monkeypatch.setattr(_record, "new_run_id", lambda: "fixedid")
    except ImportError:
        pass  # before issue 26 the name was predictable without help
    for name in ("unroute-20260301T100000Z.json", "unroute-20260301T100000Z-fixedid.json",
                 "unroute-20260301T100000Z-fixedid.html"):
        (reports / name).symlink_to(target)
    result = run_module("run_report", dict(domains=[_entry("a.test")], mode="unroute", dest=str(reports),
                                           started=STARTED))
    assert result.get("failed") and "\n" not in result["msg"] and "cannot write to" in result["msg"]
    assert target.read_text() == "keep me\n"
    assert [p.name for p in reports.iterdir() if not p.is_symlink()] == []
    # A record read through a planted symlink is refused as well.
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert "symbolic link" in _read(link)["msg"]


def test_reports_are_private(tmp_path):
    written = _write(tmp_path / "new" / "reports")
    assert stat.S_IMODE((tmp_path / "new" / "reports").stat().st_mode) == 0o700
    for path in (written["json_path"], written["html_path"]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in (tmp_path / "new" / "reports").iterdir() if p.name.startswith(".")] == []


# -- item 5 and 7: paths -----------------------------------------------------------------------------------

def _env(tmp_path, **extra):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path / "out"))
    env.update(extra)
    return env


def _play(tmp_path, playbook, *extra, inventory="localhost,", cwd=None):
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable,
                           str(ROOT / "playbooks" / playbook)] + list(extra),
                          cwd=str(cwd or ROOT), env=_env(tmp_path), capture_output=True, text=True, timeout=300)


def test_artifacts_fields_never_build_a_path(tmp_path):
    written = _write(tmp_path / "reports", mode="audit")
    record = json.loads(open(written["json_path"]).read())
    escape = dict(record, run=dict(record["run"], mode="../../../escaped"))
    # Even signed with the right key, a mode that is not one of the run modes builds no file name.
    escape = _sign(escape)
    (tmp_path / "artifacts.json").write_text(json.dumps({"unroute_run": escape}))
    done = _play(tmp_path, "report.yml", "-e", "unroute_artifacts=%s" % (tmp_path / "artifacts.json"))
    assert done.returncode != 0
    assert "%s: the run record has no run.mode" % (tmp_path / "artifacts.json") in done.stdout
    assert not list(tmp_path.glob("**/*escaped*")) and not list(ROOT.glob("../escaped*"))

    started = dict(record, run=dict(record["run"], started="../../../x"))
    started = _sign(started)
    result = run_module("run_report", dict(record=started, dest=str(tmp_path / "rebuilt")))
    assert not result.get("failed"), result.get("msg")
    assert os.path.dirname(result["json_path"]) == str(tmp_path / "rebuilt")
    assert os.path.basename(result["json_path"]).startswith("audit-")


def test_relative_record_paths_are_taken_from_the_current_folder(tmp_path):
    """README: restore.yml -e unroute_record=reports/unroute-....json, unroute.yml -e unroute_plan=reports/audit-..."""
    run = _write(tmp_path / "work" / "reports", mode="unroute", domains=("elsewhere.test",))
    audit = _write(tmp_path / "work" / "reports", mode="audit", domains=("elsewhere.test",))
    relative = os.path.relpath(run["json_path"], str(tmp_path / "work"))
    done = _play(tmp_path, "restore.yml", "-e", "unroute_record=%s" % relative, cwd=tmp_path / "work")
    assert done.returncode == 0, done.stdout[-3000:]
    restored = json.loads(next((tmp_path / "out").glob("restore-*.json")).read_text())
    assert [d["status"] for d in restored["domains"]] == ["skipped"]
    relative = os.path.relpath(audit["json_path"], str(tmp_path / "work"))
    done = _play(tmp_path, "unroute.yml", "-e", "unroute_plan=%s" % relative, cwd=tmp_path / "work")
    assert done.returncode == 0, done.stdout[-3000:]


# -- item 6: exit status and malformed records ---------------------------------------------------------------

def test_a_record_without_domains_gets_one_line_naming_the_file(tmp_path):
    written = _write(tmp_path / "reports")
    record = json.loads(open(written["json_path"]).read())
    record.pop("domains")
    bare = _sign(record)
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(bare))
    done = _play(tmp_path, "restore.yml", "-e", "unroute_record=%s" % path)
    assert done.returncode != 0
    assert "%s: the run record has no 'domains' list" % path in done.stdout
    assert "Undefined" not in done.stdout and "template" not in done.stdout.lower()

    record = json.loads(open(written["json_path"]).read())
    record["domains"][0].pop("removed")
    path.write_text(json.dumps(_sign(record)))
    result = _read(path)
    assert result.get("failed") and result["msg"].startswith(
        "%s: domains[0] (a.test) has no 'removed'" % path), result["msg"]


def test_a_record_of_the_wrong_kind_is_refused_naming_the_file(tmp_path):
    audit = _write(tmp_path / "reports", mode="audit")
    result = _read(audit["json_path"], purpose="restore")
    assert result.get("failed") and result["msg"].startswith(
        "%s: this is the run record of an audit, not of a real run" % audit["json_path"]), result["msg"]
    run = _write(tmp_path / "reports", mode="unroute")
    record = json.loads(open(run["json_path"]).read())
    assert "of a real run, not of an audit" in _read(run["json_path"], purpose="plan")["msg"]
    record["domains"][0].pop("plan_digest")
    record["run"].update(mode="audit")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_sign(record)))
    assert _read(path, purpose="plan")["msg"].startswith("%s: domains[0] (a.test) has no 'plan_digest'" % path)
    path.write_text("{not json")
    assert _read(path)["msg"].startswith("%s: it is not JSON" % path)


def test_a_run_with_drifted_domains_ends_non_zero_after_the_report(tmp_path):
    entry = {"domain": "drift.test", "platform": "other", "results": {}, "skipped": False,
             "errors": [{"task": "Reviewed plan - go on only if the fresh plan is the audit's", "drifted": True,
                         "msg": "drift.test: drifted since the audit: changed: x; nothing was changed"}]}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {"unroute_report_entry": entry}}}}))
    done = _play(tmp_path, "report.yml", "-e", "unroute_run_mode=unroute", inventory=str(inventory))
    assert done.returncode != 0
    assert "1 domain(s) drifted since the audit and were left alone: drift.test" in done.stdout
    record = json.loads(next((tmp_path / "out").glob("unroute-*.json")).read_text())
    assert record["summary"]["drifted"] == 1
    done = _play(tmp_path, "report.yml", "-e", "unroute_run_mode=unroute", "-e", "unroute_fail_on_error=false",
                 inventory=str(inventory))
    assert done.returncode == 0, done.stdout[-3000:]
