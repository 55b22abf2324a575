"""The role's platform ``mta`` (and ``other`` with unroute_mta_hosts) cleans a domain's mail servers (mta_relay)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pathlib import Path

import pytest
import yaml

from mta_fixtures import ROOT, needs_postfix, postconf, postfix_instance

pytestmark = needs_postfix


def role_entry(tmp_path, platform, mta_hosts):
    """Run the role for acme.test (DNS off) and return its report entry."""
    out = tmp_path / "entry.json"
    variables = {"unroute_platform": platform, "unroute_dns_enabled": False, "unroute_mta_become": False}
    if mta_hosts is not None:
        variables["unroute_mta_hosts"] = mta_hosts
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{
        "hosts": "acme.test", "gather_facts": False, "vars": variables,
        "roles": [{"role": "mxhero.unroute.unroute"}],
        "post_tasks": [{"ansible.builtin.copy": {"content": "{{ unroute_report_entry | to_json }}", "dest": str(out)},
                        "delegate_to": "localhost"}]}]))
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"acme.test": local, "mail1": local,
                                                                          "mail2": local}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                           str(tmp_path / "play.yml")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout
    return json.loads(out.read_text())


@pytest.mark.parametrize("platform", ["mta", "other"])
def test_role_runs_mta_relay_on_each_mail_server_of_the_domain(tmp_path, platform):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = postfix_instance(tmp_path / "one", main={"relayhost": "[smtp.mxhero.com]:25"})
    two = postfix_instance(tmp_path / "two", main={"relayhost": "[relay.customer.test]"})
    entry = role_entry(tmp_path, platform, [{"host": "mail1", "config_dir": str(one)},
                                            {"host": "mail2", "config_dir": str(two), "mta": "postfix"}])
    assert entry["errors"] == [] and entry["platform"] == platform
    results = entry["results"]["unroute_result_mta_relay"]["results"]
    assert [r["item"]["host"] for r in results] == ["mail1", "mail2"]
    assert [len(r["findings"]) for r in results] == [1, 0]
    assert results[0]["findings"][0]["object"].endswith("%s/main.cf relayhost" % one)
    assert postconf(one, "-h", "relayhost").strip() == ""
    assert postconf(two, "-h", "relayhost").strip() == "[relay.customer.test]"


def test_platform_mta_without_mail_servers_is_one_line_error(tmp_path):
    entry = role_entry(tmp_path, "mta", None)
    assert [e["msg"] for e in entry["errors"]] == [
        "acme.test: unroute_mta_hosts: platform mta needs the domain's mail servers and none is listed; set "
        "unroute_mta_hosts to a list of {host: <inventory host>} (or use unroute_platform=other for DNS only)"]
    assert "unroute_result_mta_relay" not in entry["results"]


def test_platform_other_without_mail_servers_only_skips_them(tmp_path):
    entry = role_entry(tmp_path, "other", None)
    assert entry["errors"] == []
    assert "unroute_result_mta_relay" not in entry["results"]
