"""Issue 9 against the lab's BIND: bad input never reaches a zone, a domain stops at its first error,
a lost answer to an update is settled by re-reading and kept in the result.

Every refusal is checked in check mode and in a real run (same message) and the zone is compared as a
whole AXFR, SOA serial included, before and after: any update would bump the serial.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

from helpers import ROOT, dns_args, run_module
from unroute_lab import cli as lab_cli
from unroute_lab.bind import zone_snapshot
from unroute_lab.dns_proxy import DnsProxy
from unroute_lab.manifest import Lab

from ansible_collections.mxhero.unroute.plugins.module_utils._report import domain_record

pytestmark = pytest.mark.lab

MXHERO_PAIR = ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 smtp.mxhero.com."]
KEPT_PAIR = ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.%s.", "mail 3600 IN A 192.0.2.1"]


def _kept(zone, subs=()):
    lines = [line.replace("%s", zone) for line in KEPT_PAIR]
    for sub in subs:
        lines += ["%s 3600 IN MX 10 smtp-in.mxhero.com." % sub, "%s 3600 IN MX 20 mail.%s." % (sub, zone)]
    return {"name": zone, "dns": {"records": lines}}


ESTATE = {"domains": [
    {"name": "typo.test", "dns": {"records": MXHERO_PAIR}},
    {"name": "host.test", "dns": {"records": MXHERO_PAIR}},
    {"name": "cut.test", "dns": {"records": MXHERO_PAIR + ["mail 3600 IN NS ns1.mail.cut.test.",
                                                           "ns1.mail 3600 IN A 127.0.0.1"]}},
    {"name": "mail.cut.test", "dns": {"records": ["@ 3600 IN MX 10 smtp-in.mxhero.com.",
                                                  "@ 3600 IN MX 20 backup.example."]}},
    {"name": "sole.test", "dns": {"records": KEPT_PAIR[:1] + ["eu 3600 IN MX 10 smtp-in.mxhero.com.",
                                                              "mail 3600 IN A 192.0.2.1",
                                                              "@ 3600 IN MX 20 mail.sole.test."]}},
    _kept("lost.test"), _kept("lostudp.test"), _kept("swallow.test", subs=["eu"]),
    _kept("multi.test", subs=["a", "b"]),
    {"name": "role.test", "dns": {"records": [line.replace("%s", "role.test") for line in KEPT_PAIR] + [
        '@ 3600 IN TXT "v=spf1 include:spf.mxhero.com ~all"']}},
]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bad-input-lab")
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump(ESTATE))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


@pytest.fixture
def proxy(lab):
    with DnsProxy(lab.dns["server"], lab.dns["port"]) as running:
        yield running


def refused_in_both_modes(lab, zones, module="dns_mx", **args):
    """Run check mode then a real run; both must fail with the same one-line message, zones untouched."""
    before = {zone: zone_snapshot(lab.dns, zone) for zone in zones}
    audit = run_module(module, args, check_mode=True)
    real = run_module(module, args)
    assert audit.get("failed") and real.get("failed"), (audit, real)
    assert audit["msg"] == real["msg"]
    assert "\n" not in real["msg"] and "Traceback" not in str(real)
    for zone in zones:
        assert zone_snapshot(lab.dns, zone) == before[zone], "%s changed" % zone
    return real["msg"]


# -- case 1, 2, 6: a replacement that would write a damaging or unreadable MX ----------------------
@pytest.mark.parametrize("exchange, cause", [
    ("192.0.2.25", "not an IP address"),                 # case 1
    ("[192.0.2.25]", "not an IP address"),
    ("2001:db8::25", "not an IP address"),
    ("", "null MX"),                                     # case 2
    (".", "null MX"),
    ("mail server.example.", "contains a space"),       # case 6
    ("mail..example.com", "empty label"),
    ("mail", "single label"),
    ("mail_in.example.com", "host name label"),
    ("smtp-in.mxhero.com", "may not itself be an mxHero host"),
])
def test_bad_replacement_exchange_is_refused_before_anything(lab, exchange, cause):
    msg = refused_in_both_modes(lab, ["typo.test"], **dns_args(
        lab, "typo.test", replacement=[{"preference": 10, "exchange": exchange}]))
    assert msg.startswith("typo.test: option replacement[0].exchange %r: " % exchange), msg
    assert cause in msg and "; give" in msg


@pytest.mark.parametrize("preference", [70000, 65536, -1])
def test_preference_out_of_range_is_refused(lab, preference):
    msg = refused_in_both_modes(lab, ["typo.test"], **dns_args(
        lab, "typo.test", replacement=[{"preference": preference, "exchange": "smtp.google.com"}]))
    assert msg.startswith("typo.test: option replacement[0].preference %d: " % preference)
    assert "0 to 65535" in msg


def test_good_replacement_still_works(lab):
    args = dns_args(lab, "typo.test", replacement=[{"preference": 0, "exchange": "smtp.google.com."}])
    audit = run_module("dns_mx", args, check_mode=True)
    assert audit["changed"] and not audit.get("failed")
    assert [f["action"] for f in audit["findings"]] == ["would_remove", "would_remove", "would_add"]


# -- case 3: names outside the zone, and a domain that stops at its first error --------------------
def test_record_outside_the_zone_in_a_list_stops_before_the_apex(lab):
    msg = refused_in_both_modes(lab, ["multi.test"], **dns_args(
        lab, "multi.test", records=["multi.test", "www.other.test"]))
    assert msg.startswith("multi.test: option records[1] 'www.other.test': the record is not inside zone multi.test")


def test_a_refusal_on_a_later_name_stops_the_domain_before_its_first_write(lab):
    """Every name is planned before the first update: the sole-MX refusal at eu.sole.test leaves the apex."""
    msg = refused_in_both_modes(lab, ["sole.test"], **dns_args(lab, "sole.test", records=["sole.test", "eu.sole.test"]))
    assert msg.startswith("sole.test: eu.sole.test. MX: ") and "without MX records" in msg


def test_the_first_failed_update_stops_the_names_after_it(lab, proxy):
    zone = "multi.test"
    proxy.fault("relay")
    proxy.fault("swallow")
    args = dns_args(lab, zone, port=proxy.port, records=[zone, "a.multi.test", "b.multi.test"])
    before_b = [line for line in lab.records(zone) if line.startswith("b.multi.test.")]
    result = run_module("dns_mx", args)
    assert result.get("failed") and result["msg"].startswith("multi.test: a.multi.test. MX: ")
    assert proxy.updates == ["relayed", "swallow"], "b.multi.test was updated after a.multi.test failed"
    assert [line for line in lab.records(zone) if line.startswith("b.multi.test.")] == before_b
    assert "removed multi.test. MX 10 smtp-in.mxhero.com." in result["partial"]
    assert [(r["record"], r.get("outcome")) for r in result["removed"]] == [("multi.test.", None),
                                                                             ("a.multi.test.", "unknown")]
    assert not [line for line in lab.records(zone) if line.startswith("multi.test. ") and "mxhero" in line]


# -- case 4: a server given by host name ------------------------------------------------------------
def test_server_host_name_is_resolved(lab):
    args = dns_args(lab, "host.test", server="localhost",
                    replacement=[{"preference": 1, "exchange": "smtp.google.com"}])
    audit = run_module("dns_mx", args, check_mode=True)
    real = run_module("dns_mx", args)
    assert not real.get("failed"), real
    assert audit["removed"] == real["removed"] and len(real["removed"]) == 2
    assert [line.split(" IN MX ")[1] for line in lab.records("host.test") if " IN MX " in line] == [
        "1 smtp.google.com."]


def test_server_host_name_that_does_not_resolve_is_refused(lab):
    msg = refused_in_both_modes(lab, ["typo.test"], **dns_args(lab, "typo.test", server="ns1.unroute.invalid"))
    assert msg.startswith("typo.test: option server 'ns1.unroute.invalid': the system resolver cannot resolve")


# -- case 5: a name below a zone cut ------------------------------------------------------------------
@pytest.mark.parametrize("extra", [{"record": "mail.cut.test"}, {"record": "x.mail.cut.test"},
                                   {"records": ["cut.test", "mail.cut.test"]}])
def test_name_below_a_zone_cut_names_the_child_zone(lab, extra):
    msg = refused_in_both_modes(lab, ["cut.test", "mail.cut.test"], **dns_args(
        lab, "cut.test", replacement=[{"preference": 1, "exchange": "smtp.google.com"}], **extra))
    assert msg.startswith("cut.test: option record")
    assert "below a zone cut: mail.cut.test. is delegated to its own zone" in msg
    assert "target zone mail.cut.test instead" in msg


@pytest.mark.parametrize("extra, head", [({"record": "mail.cut.test"}, "target zone mail.cut.test instead"),
                                         ({"zone": "exa..mple.test"}, "exa..mple.test: option zone"),
                                         ({"server": "ns1.unroute.invalid"}, "cut.test: option server")])
def test_spf_refuses_the_same_way(lab, extra, head):
    msg = refused_in_both_modes(lab, ["cut.test", "mail.cut.test"], module="dns_spf", **dict(
        dns_args(lab, "cut.test"), **extra))
    assert head in msg


def test_info_refuses_a_name_below_a_zone_cut(lab):
    result = run_module("dns_info", dns_args(lab, "cut.test", record="mail.cut.test"))
    assert result.get("failed") and "target zone mail.cut.test instead" in result["msg"]


def test_a_sub_zone_given_as_zone_names_its_parent(lab):
    msg = refused_in_both_modes(lab, ["typo.test"], **dns_args(lab, "www.typo.test"))
    assert "www.typo.test is a name inside zone typo.test" in msg and "give zone: typo.test" in msg


# -- case 7 and the other connection options -------------------------------------------------------
@pytest.mark.parametrize("changes, head", [
    ({"zone": "exa..mple.test"}, "exa..mple.test: option zone 'exa..mple.test': the zone name has an empty label"),
    ({"zone": "typo .test"}, "typo .test: option zone 'typo .test': the zone name contains a space"),
    ({"zone": "%s.test" % ("a" * 64)}, "option zone"),
    ({"zone": ".".join(["abcdefghij"] * 25)}, "at most 255"),
    ({"record": "www..typo.test"}, "typo.test: option record 'www..typo.test'"),
    ({"records": ["typo.test", "bad name.typo.test"]}, "typo.test: option records[1] 'bad name.typo.test'"),
    ({"records": []}, "typo.test: option records []: the list is empty"),
    ({"port": 70000}, "typo.test: option port 70000: a port is a number from 1 to 65535"),
    ({"port": 0}, "typo.test: option port 0:"),
    ({"timeout": 0}, "typo.test: option timeout 0.0: the timeout must be"),
    ({"timeout": -3}, "typo.test: option timeout -3.0:"),
    ({"key_algorithm": "hmac-sha999"}, "typo.test: option key_algorithm 'hmac-sha999': this is not a TSIG algorithm"),
    ({"key_secret": ""}, "typo.test: option key_secret (empty): no secret is given while key_name 'unroute' is set"),
    ({"key_secret": "not base64 at all!"}, "typo.test: option key_secret (hidden): the secret is not valid base64"),
    ({"key_name": "bad key"}, "typo.test: option key_name 'bad key': the key name contains a space"),
])
def test_bad_options_are_one_line_naming_domain_option_and_value(lab, changes, head):
    args = dns_args(lab, "typo.test")
    args.update(changes)
    msg = refused_in_both_modes(lab, ["typo.test"], **args)
    assert head in msg and "; " in msg, msg
    assert "not base64 at all!" not in msg


def test_key_algorithm_case_does_not_matter(lab):
    result = run_module("dns_mx", dns_args(lab, "typo.test", key_algorithm="HMAC-SHA256", replacement=[
        {"preference": 1, "exchange": "smtp.google.com"}]), check_mode=True)
    assert not result.get("failed"), result


def test_dns_info_checks_selectors(lab):
    result = run_module("dns_info", dns_args(lab, "typo.test", dkim_selectors=["ok", "bad selector"]))
    assert result.get("failed") and result["msg"].startswith("typo.test: option dkim_selectors[1] 'bad selector'")


# -- case 7: a lost answer to an update -----------------------------------------------------------------
def test_lost_answer_is_settled_by_reading_again(lab, proxy):
    zone = "lost.test"
    proxy.fault("lose_answer")
    result = run_module("dns_mx", dns_args(lab, zone, port=proxy.port))
    assert proxy.updates == ["lose_answer"]
    assert not result.get("failed"), result
    assert [(f["action"], f["outcome"]) for f in result["findings"]] == [("removed", "removed")]
    assert result["removed"] == [{"record": "lost.test.", "type": "MX", "ttl": 3600,
                                  "value": "10 smtp-in.mxhero.com.", "outcome": "removed",
                                  "rrset": ["10 smtp-in.mxhero.com.", "20 mail.%s." % zone]}]
    assert any("answer to the update was lost" in c and "took effect" in c for c in result["cautions"])
    assert [line for line in lab.records(zone) if " IN MX " in line] == ["lost.test. 3600 IN MX 20 mail.lost.test."]
    # The run record keeps the removal; the next run finds nothing left to do.
    record = domain_record({"domain": zone, "results": {"unroute_result_dns_mx": result}})
    assert [r["value"] for r in record["removed"]] == ["10 smtp-in.mxhero.com."]
    assert not run_module("dns_mx", dns_args(lab, zone))["changed"]


def test_lost_answer_over_udp_is_settled_too(lab, proxy):
    proxy.fault("lose_answer")
    result = run_module("dns_mx", dns_args(lab, "lostudp.test", port=proxy.port, protocol="udp", timeout=1))
    assert not result.get("failed") and result["removed"][0]["outcome"] == "removed", result


def test_unknown_outcome_fails_and_keeps_the_intended_removal(lab, proxy):
    zone = "swallow.test"
    before = zone_snapshot(lab.dns, zone)
    proxy.fault("swallow")
    result = run_module("dns_mx", dns_args(lab, zone, port=proxy.port, records=[zone, "eu.swallow.test"]))
    assert proxy.updates == ["swallow"], "the domain went on after an update of unknown outcome"
    assert result.get("failed") and result["msg"].startswith("swallow.test: swallow.test. MX: the update was sent")
    assert "whether it took effect is unknown" in result["msg"] and "has not taken effect" in result["msg"]
    assert "\n" not in result["msg"]
    assert [(f["action"], f["outcome"]) for f in result["findings"]] == [("unknown", "unknown")]
    assert result["removed"] == [{"record": "swallow.test.", "type": "MX", "ttl": 3600,
                                  "value": "10 smtp-in.mxhero.com.", "outcome": "unknown",
                                  "rrset": ["10 smtp-in.mxhero.com.", "20 mail.%s." % zone]}]
    assert zone_snapshot(lab.dns, zone) == before
    record = domain_record({"domain": zone, "results": {"unroute_result_dns_mx": result}})
    assert record["status"] == "error"
    assert [(r["value"], r["outcome"]) for r in record["removed"]] == [("10 smtp-in.mxhero.com.", "unknown")]


# -- the role: a domain stops at its first error ------------------------------------------------------
PLAYBOOK = """
- hosts: all
  gather_facts: false
  roles: [mxhero.unroute.unroute]
  post_tasks:
    - ansible.builtin.copy:
        content: "{{ unroute_report_entry | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0600"
"""


def test_role_stops_the_domain_at_a_record_outside_the_zone(lab, tmp_path):
    """Case 3 through the role: nothing of role.test is touched, and SPF does not run after the MX error."""
    zone = "role.test"
    before = zone_snapshot(lab.dns, zone)
    dns = lab.dns
    inventory = {"all": {"hosts": {zone: {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "unroute_dns_server": dns["server"], "unroute_dns_port": dns["port"], "unroute_dns_key_name": dns["key_name"],
        "unroute_dns_key_secret": lab.tsig_secret, "unroute_dns_records": ["www.other.test"]}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml"), "-e", "out=%s" % tmp_path],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    entry = json.loads((tmp_path / ("%s.json" % zone)).read_text())
    assert "unroute_result_dns_spf" not in entry["results"] and "unroute_result_dns_dkim" not in entry["results"]
    mx = entry["results"]["unroute_result_dns_mx"]
    assert mx["failed"] and mx["msg"].startswith("role.test: option records[1] 'www.other.test': the record is not "
                                                  "inside zone role.test")
    assert entry["errors"] and lab.tsig_secret not in json.dumps(entry)
    assert entry["dns_provider"] == "rfc2136", "the report filters by the domain's DNS provider"
    assert zone_snapshot(lab.dns, zone) == before
