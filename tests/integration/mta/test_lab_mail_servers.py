"""The lab's mail servers: a real Postfix instance per ``mta`` domain, reached by the modules over the lab's
sshd, an SMTP sink standing for mxHero; the playbooks audit, unroute and re-audit them like any domain."""

from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import sys
import time

from pathlib import Path

import pytest
import yaml

from mta_fixtures import ROOT, needs_postfix
from unroute_lab import postfix as lab_postfix
from unroute_lab.estate import EstateError, parse
from unroute_lab.smtp_sink import received

pytestmark = needs_postfix


def estate(mta, name="mta-one.test"):
    return {"domains": [{"name": name, "platform": "mta", "dns": {"records": [
        "@ 3600 IN MX 10 mail.%s." % name, "mail 3600 IN A 192.0.2.60", '@ 3600 IN TXT "v=spf1 mx -all"']},
        "mta": mta}]}


SEVERAL_PLACES = {
    "relayhost": "[smtp.mxhero.com]:25",
    "smtp_fallback_relay": "[backup.mta-one.test], smtp.mxhero.com",
    "transport_maps": ["example.com smtp:[smtp.mxhero.com]:25", "partner.test smtp:[mx.partner.test]"],
    "sender_dependent_relayhost_maps": ["@mta-one.test [smtp.mxhero.com]:587", "@other.test [relay.other.test]"],
    "master_overrides": {"outbound": {"relayhost": "[smtp.mxhero.com]:25"}},
}


def playbook(lab, name, tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               UNROUTE_REPORT_DIR=str(tmp_path / "reports"))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / name)] + list(extra), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    prefix = "audit" if name == "audit.yml" else "unroute"
    latest = sorted(glob.glob(str(tmp_path / "reports" / ("%s-*.json" % prefix))), key=os.path.getmtime)[-1]
    return json.loads(Path(latest).read_text())


def test_up_builds_an_instance_per_domain_reached_over_ssh_and_down_stops_it(lab_factory):
    lab = lab_factory(estate(SEVERAL_PLACES))
    inventory = yaml.safe_load((lab.dir / "inventory.yml").read_text())["all"]["children"]
    server = inventory["unroute_mail_servers"]["hosts"]["mail.mta-one.test"]
    config_dir = server["unroute_mta_config_dir"]
    assert server["ansible_connection"] == "ssh" and server["ansible_host"] == "127.0.0.1"
    assert server["ansible_python_interpreter"] == sys.executable
    domain = inventory["mta"]["hosts"]["mta-one.test"]
    assert domain["unroute_mta_hosts"] == [{"host": "mail.mta-one.test", "mta": "postfix", "config_dir": config_dir}]
    # A real instance of its own: the estate's relay settings as Postfix reads them, smtpd answering.
    assert lab_postfix.postconf(config_dir, "-h", "relayhost").strip() == "[smtp.mxhero.com]:25"
    dump = lab.state()["mta"]["servers"]["mail.mta-one.test"]
    assert dump["running"] is True
    assert "relayhost = [smtp.mxhero.com]:25" in dump["main.cf"]
    assert "outbound/unix/relayhost = [smtp.mxhero.com]:25" in dump["master.cf"]
    assert dump["maps"]["transport_maps"] == SEVERAL_PLACES["transport_maps"]
    with socket.create_connection(("127.0.0.1", dump["smtp_port"]), timeout=5) as smtp:
        assert smtp.recv(100).startswith(b"220 ")
    # The sshd admits the lab key and runs commands as the lab's user.
    ssh = subprocess.run(["ssh", "-i", server["ansible_ssh_private_key_file"], "-p", str(server["ansible_port"]),
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                          "%s@127.0.0.1" % server["ansible_user"], "postconf -c %s -h relayhost" % config_dir],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30)
    assert ssh.stdout.strip() == "[smtp.mxhero.com]:25"

    from unroute_lab import cli
    cli.down(str(lab.dir))
    assert not lab_postfix.running(config_dir)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server["ansible_port"]), timeout=2).close()


def test_audit_unroute_audit_cleans_every_place_over_ssh(lab_factory, tmp_path):
    lab = lab_factory(estate(SEVERAL_PLACES))
    config_dir = lab.service("mta")["instances"]["mta-one.test"]["config_dir"]
    audit = playbook(lab, "audit.yml", tmp_path)
    # Mail servers are not domains: the run covers the one domain, its server through unroute_mta_hosts.
    assert [d["domain"] for d in audit["domains"]] == ["mta-one.test"]
    places = sorted(f["object"].split(" ", 2)[2] for f in audit["domains"][0]["findings"])
    assert places == ["@mta-one.test", "example.com", "outbound/unix -o relayhost", "relayhost", "smtp_fallback_relay"]
    assert lab_postfix.postconf(config_dir, "-h", "relayhost").strip() == "[smtp.mxhero.com]:25"

    run = playbook(lab, "unroute.yml", tmp_path)
    assert run["domains"][0]["status"] == "changed", run["domains"][0]
    assert lab_postfix.postconf(config_dir, "-h", "relayhost").strip() == ""
    assert lab_postfix.postconf(config_dir, "-h", "smtp_fallback_relay").strip() == "[backup.mta-one.test]"
    assert "outbound/unix/relayhost" not in lab_postfix.postconf(config_dir, "-P")
    maps = lab.state()["mta"]["servers"]["mail.mta-one.test"]["maps"]
    assert maps == {"transport_maps": ["partner.test smtp:[mx.partner.test]"],
                    "sender_dependent_relayhost_maps": ["@other.test [relay.other.test]"]}
    assert lab_postfix.running(config_dir)

    again = playbook(lab, "audit.yml", tmp_path)
    assert again["domains"][0]["status"] == "clean", again["domains"][0]


def _wait(spool, subject, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any("Subject: %s" % subject in m for m in received(spool)):
            return True
        time.sleep(0.5)
    return False


def test_mail_reaches_the_mxhero_stand_in_before_the_run_and_the_customer_relay_after(lab_factory, tmp_path):
    lab = lab_factory(estate({"relayhost": "{mxhero_sink}", "host": {"state": "replaced",
                                                                      "replacement": "{customer_sink}"}}))
    entry = lab.service("mta")
    config_dir = entry["instances"]["mta-one.test"]["config_dir"]
    sinks = entry["sinks"]
    lab_postfix.send(config_dir, "app@mta-one.test", "someone@example.net", "before the run")
    assert _wait(sinks["mxhero"]["spool"], "before the run")

    run = playbook(lab, "unroute.yml", tmp_path)
    finding = run["domains"][0]["findings"][0]
    assert finding["action"] == "changed" and finding["evidence"] == ["ip 127.0.0.2"]
    assert lab_postfix.postconf(config_dir, "-h", "relayhost").strip() == "[127.0.0.3]:%d" % sinks["customer"]["port"]

    lab_postfix.send(config_dir, "app@mta-one.test", "someone@example.net", "after the run")
    assert _wait(sinks["customer"]["spool"], "after the run")
    assert not any("after the run" in m for m in received(sinks["mxhero"]["spool"]))
    assert lab.state()["mta"]["sinks"]["mxhero"]["received"] == ["before the run"]


@pytest.mark.parametrize("section, message", [
    ({"software": "exim"}, "runs Postfix only"),
    ({"transport_maps": "example.com smtp:[smtp.mxhero.com]"}, "must be a list of table lines"),
    ({"master_overrides": {"outbound": "[smtp.mxhero.com]"}}, "master_overrides.outbound must be a mapping"),
    ("postfix", "mta must be a mapping"),
])
def test_bad_mta_sections_name_the_domain_and_the_problem(section, message):
    with pytest.raises(EstateError, match=r"mta-one.test\): .*" + message):
        parse(estate(section), source="x.yml")
