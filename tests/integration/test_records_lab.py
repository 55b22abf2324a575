"""Issue 26 against the lab: a tampered reviewed plan changes nothing anywhere and says why; two runs started
in the same second on the same estate keep both records, and restoring each puts back what that run did."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT
from unroute_lab.bind import zone_snapshot

pytestmark = pytest.mark.lab
BIN = os.path.dirname(sys.executable)
SAME_SECOND = "2026-03-01T10:00:00Z"


def _dns_domain(name):
    return {"name": name, "platform": "other", "dns": {"records": [
        "@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.%s." % name, "mail 3600 IN A 192.0.2.10",
        '@ 3600 IN TXT "v=spf1 mx include:spf.mxhero.com ~all"']}}


def _cmd(lab, playbook, *extra):
    return [os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
            str(ROOT / "playbooks" / playbook), "-e", "unroute_fail_on_error=false"] + list(extra)


def _env(reports):
    return dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
                ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(reports))


def _play(lab, reports, playbook, *extra):
    done = subprocess.run(_cmd(lab, playbook, *extra), cwd=str(ROOT), env=_env(reports), capture_output=True,
                          text=True, timeout=600)
    return done


def _dns(lab, zones):
    return dict((z, sorted(line.lower() for line in lab.records(z) if " IN SOA " not in line)) for z in zones)


def test_an_audit_edited_to_hide_a_change_approves_nothing(lab_factory, tmp_path):
    zones = ("shown.test", "hidden.test")
    lab = lab_factory({"domains": [_dns_domain(z) for z in zones]})
    done = _play(lab, tmp_path / "audit", "audit.yml")
    assert done.returncode == 0, done.stdout[-3000:]
    audit_path = next((tmp_path / "audit").glob("audit-*.json"))
    audit = json.loads(audit_path.read_text())
    # The reviewer's copy no longer shows the SPF change of hidden.test; every digest is kept as it was.
    hidden = [d for d in audit["domains"] if d["domain"] == "hidden.test"][0]
    spf = [i for i, f in enumerate(hidden["findings"]) if f["kind"] == "spf_term"]
    assert spf
    del hidden["findings"][spf[0]]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(audit))
    frozen = {z: zone_snapshot(lab.dns, z) for z in zones}

    done = _play(lab, tmp_path / "run", "unroute.yml", "-e", "unroute_plan=%s" % edited)
    assert done.returncode != 0
    assert "%s: the run record's MAC does not verify" % edited in done.stdout
    assert {z: zone_snapshot(lab.dns, z) for z in zones} == frozen
    assert not list((tmp_path / "run").glob("unroute-*.json")) if (tmp_path / "run").exists() else True

    # Even trusted as a record from before MACs, what the report showed is what is approved: nothing here.
    audit.pop("mac")
    edited.write_text(json.dumps(audit))
    done = _play(lab, tmp_path / "run", "unroute.yml", "-e", "unroute_plan=%s" % edited,
                 "-e", "unroute_trust_unsigned=true")
    assert done.returncode == 0, done.stdout[-3000:]
    run = json.loads(next((tmp_path / "run").glob("unroute-*.json")).read_text())
    by_domain = dict((d["domain"], d) for d in run["domains"])
    assert by_domain["hidden.test"]["status"] == "drifted"
    assert "does not add up" in by_domain["hidden.test"]["errors"][0]["msg"]
    assert zone_snapshot(lab.dns, "hidden.test") == frozen["hidden.test"]
    assert by_domain["shown.test"]["status"] == "changed"


def test_two_runs_in_the_same_second_keep_both_records_and_both_restore(lab_factory, tmp_path):
    zones = ("one.test", "two.test", "three.test")
    lab = lab_factory({"domains": [_dns_domain(z) for z in zones]})
    before = _dns(lab, zones)
    reports = tmp_path / "reports"
    # Same start second for both (what two runs started together get): their records must not collide.
    runs = [subprocess.Popen(_cmd(lab, "unroute.yml", "-e", "unroute_run_started=%s" % SAME_SECOND),
                             cwd=str(ROOT), env=_env(reports), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for _ in range(2)]
    outputs = [r.communicate(timeout=600)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    records = sorted(reports.glob("unroute-20260301T100000Z-*.json"))
    assert len(records) == 2, [p.name for p in reports.iterdir()]
    runs = [json.loads(p.read_text()) for p in records]
    assert runs[0]["run"]["id"] != runs[1]["run"]["id"]
    removed = [(d["domain"], r.get("type"), r.get("value")) for run in runs for d in run["domains"]
               for r in d["removed"]]
    # Every object removed once, by one run, and recorded by exactly that run.
    assert len(removed) == len(set(removed)) and removed
    assert _dns(lab, zones) != before

    for index, record in enumerate(records):
        done = _play(lab, tmp_path / ("restore%d" % index), "restore.yml", "-e", "unroute_record=%s" % record)
        assert done.returncode == 0, done.stdout[-3000:]
        restored = json.loads(next((tmp_path / ("restore%d" % index)).glob("restore-*.json")).read_text())
        assert not [d for d in restored["domains"] if d["status"] == "error"], restored["domains"]
    assert _dns(lab, zones) == before
