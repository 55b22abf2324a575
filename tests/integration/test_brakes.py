"""Issue 24 (3, 4): the estate brake, dry-run-only domains, the mail zone check after a real run, and a unicode
domain (bücher.test) through audit and real run, over the lab's BIND."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT
from unroute_lab.bind import zone_snapshot

pytestmark = pytest.mark.lab
# The estate engine (the default) plans its domains from one check-mode task; the per-host engine runs the role
# on every domain. The brake holds for both.
ENGINES = pytest.mark.parametrize("engine", ["estate", "per_host"])
BIN = os.path.dirname(sys.executable)
UNICODE = "bücher.test"
ALABEL = "xn--bcher-kva.test"


def _dns_domain(name, spf="v=spf1 mx include:spf.mxhero.com ~all", **extra):
    return dict({"name": name, "platform": "other", "dns": {"records": [
        "@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail", "mail 3600 IN A 192.0.2.10",
        '@ 3600 IN TXT "%s"' % spf]}}, **extra)


# Four domains whose plan changes something, one that is clean; one of the four is dry run only.
ESTATE = {"domains": [
    _dns_domain("one.test"), _dns_domain("two.test"), _dns_domain(UNICODE),
    _dns_domain("dry.test", vars={"unroute_dry_run_only": True}),
    # After the mxHero include goes, eleven lookups remain: the mail zone check says so.
    _dns_domain("heavy.test", spf="v=spf1 include:spf.mxhero.com a mx ptr " + " ".join(
        "include:s%d.example" % i for i in range(8)) + " ~all"),
    {"name": "clean.test", "platform": "other", "dns": {"records": ["@ 3600 IN MX 10 mail.clean.test."]}},
]}
ZONES = ["one.test", "two.test", ALABEL, "dry.test", "heavy.test", "clean.test"]


def _play(lab, tmp_path, playbook, *extra, engine="estate"):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path / "reports"))
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / playbook), "-e", "unroute_fail_on_error=false",
                           "-e", "unroute_engine=%s" % engine] + list(extra),
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600)


def _record(tmp_path, kind):
    newest = sorted((tmp_path / "reports").glob("%s-*.json" % kind))[-1]
    return json.loads(newest.read_text()), newest


def _zones(lab):
    return dict((zone, zone_snapshot(lab.dns, zone)) for zone in ZONES)


@ENGINES
def test_brake_stops_the_run_before_its_first_change_then_force_goes_ahead(lab_factory, tmp_path, engine):
    lab = lab_factory(ESTATE)
    before = _zones(lab)
    done = _play(lab, tmp_path, "unroute.yml", "-e", "unroute_max_changed_domains=2", engine=engine)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out[-3000:]
    # One line: the count (dry.test is never changed, clean.test has nothing to change), the limit, the ways on.
    assert "brake: this run would change 4 of 6 domains" in out, out[-3000:]
    assert "unroute_force=true" in out and "unroute_plan=" in out
    # Planned by the engine the run uses: one estate task, or the role on every domain.
    assert ("estate: 6 domains" in out) == (engine == "estate")
    assert ("Brake - plan this domain in check mode" in out) == (engine == "per_host")
    assert _zones(lab) == before
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").glob("unroute-*.json"))

    # A percentage of the run's domains: 50% of 6 is 3, still fewer than 4.
    done = _play(lab, tmp_path, "unroute.yml", "-e", "unroute_max_changed_domains=50%", engine=engine)
    assert done.returncode != 0 and "(50% of the run's domains: 3)" in done.stdout + done.stderr
    assert _zones(lab) == before

    done = _play(lab, tmp_path, "unroute.yml", "-e", "unroute_max_changed_domains=2", "-e", "unroute_force=true",
                 engine=engine)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    after = _zones(lab)
    for zone in ("one.test", "two.test", ALABEL, "heavy.test"):
        assert after[zone] != before[zone] and "mxhero" not in after[zone].lower(), zone
    # Dry run only: audited, never changed, and the report says so.
    assert after["dry.test"] == before["dry.test"] and after["clean.test"] == before["clean.test"]
    record, path = _record(tmp_path, "unroute")
    # The brake's check-mode pass left nothing the report counts: each domain once, as the real run left it.
    assert sorted(d["domain"] for d in record["domains"]) == sorted(d["name"] for d in ESTATE["domains"])
    domains = dict((d["domain"], d) for d in record["domains"])
    assert domains["dry.test"]["status"] == "would_change" and domains["dry.test"]["dry_run_only"] is True
    assert "dry_run_only" not in domains["one.test"]
    page = path.with_suffix(".html").read_text(encoding="utf-8")
    assert "dry run only" in page

    # After the real run: each changed zone checked as a mail zone, once.
    assert domains["one.test"]["mail_zone_check"]["ok"] is True
    heavy = domains["heavy.test"]["mail_zone_check"]
    assert heavy["ok"] is False and "11 DNS lookups" in heavy["summary"]
    assert any("11 DNS lookups" in w for w in domains["heavy.test"]["warnings"])
    assert "mail_zone_check" not in domains["dry.test"] and "mail_zone_check" not in domains["clean.test"]

    # The unicode domain: given as bücher.test, worked on as its A-label, shown in both forms.
    assert domains[UNICODE]["status"] == "changed"
    assert domains[UNICODE]["domain_alabel"] == ALABEL and domains[UNICODE]["domain_unicode"] == UNICODE
    assert "%s (%s)" % (UNICODE, ALABEL) in page


@ENGINES
def test_a_reviewed_plan_carries_its_own_count(lab_factory, tmp_path, engine):
    lab = lab_factory(ESTATE)
    before = _zones(lab)
    done = _play(lab, tmp_path, "audit.yml", engine=engine)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    audit, audit_path = _record(tmp_path, "audit")
    assert audit["summary"]["would_change"] == 5          # dry.test too: an audit shows what would change
    planned = dict((d["domain"], d) for d in audit["domains"])
    assert planned[UNICODE]["status"] == "would_change" and planned[UNICODE]["domain_alabel"] == ALABEL
    assert "%s (%s)" % (UNICODE, ALABEL) in audit_path.with_suffix(".html").read_text(encoding="utf-8")
    assert _zones(lab) == before

    done = _play(lab, tmp_path, "unroute.yml", "-e", "unroute_max_changed_domains=1",
                 "-e", "unroute_plan=%s" % audit_path, engine=engine)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "the reviewed plan approves changes on 5 domain(s)" in out
    assert "brake: this run would change" not in out
    after = _zones(lab)
    assert after["one.test"] != before["one.test"] and after["dry.test"] == before["dry.test"]


@ENGINES
def test_within_the_brake_no_planning_pass(lab_factory, tmp_path, engine):
    lab = lab_factory({"domains": [_dns_domain("one.test"), _dns_domain("two.test")]})
    done = _play(lab, tmp_path, "unroute.yml", "-e", "unroute_max_changed_domains=2", "-v", engine=engine)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    # Two domains can never exceed a limit of two: the check-mode pass is skipped, not run.
    assert "Brake - plan every target domain in check mode" in out
    assert "Brake - plan this domain in check mode" not in out, "the role planned"
    assert out.count("estate: 2 domains") == (1 if engine == "estate" else 0), "the estate engine planned"
    assert "brake: this run would change" not in out
    record, dummy = _record(tmp_path, "unroute")
    assert record["summary"]["changed"] == 2


@ENGINES
def test_a_bad_limit_is_refused_in_one_line(lab_factory, tmp_path, engine):
    lab = lab_factory({"domains": [_dns_domain("one.test")]})
    before = zone_snapshot(lab.dns, "one.test")
    done = _play(lab, tmp_path, "unroute.yml", "-e", "unroute_max_changed_domains=lots", engine=engine)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "option unroute_max_changed_domains 'lots': is no number of domains nor a percentage" in out, out[-2000:]
    assert zone_snapshot(lab.dns, "one.test") == before


def test_the_estate_brake_counts_the_domains_with_mail_servers_the_role_plans(lab_factory, tmp_path):
    mta = {"name": "mta-brake.test", "platform": "mta",
           "dns": {"records": ["@ 3600 IN MX 10 mail.mta-brake.test.", "mail 3600 IN A 192.0.2.120",
                               '@ 3600 IN TXT "v=spf1 mx include:spf.mxhero.com ~all"']},
           "mta": {"software": "postfix", "relayhost": "[smtp.mxhero.com]:25"}}
    lab = lab_factory({"domains": [_dns_domain("one.test"), _dns_domain("two.test"), mta]})
    before = zone_snapshot(lab.dns, "mta-brake.test")
    done = _play(lab, tmp_path, "unroute.yml", "-e", "unroute_max_changed_domains=2")
    out = done.stdout + done.stderr
    assert done.returncode != 0, out[-3000:]
    # Two planned by the estate engine, the one with a mail server by the role on its host: all three counted.
    assert "estate: 2 domains, 8 at a time; 1 with mail servers follow per host" in out, out[-3000:]
    assert "TASK [Brake - plan this domain in check mode" in out
    assert "brake: this run would change 3 of 3 domains" in out, out[-3000:]
    assert zone_snapshot(lab.dns, "mta-brake.test") == before
