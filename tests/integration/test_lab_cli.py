"""The lab CLI: up writes a manifest and inventory that match what BIND serves; bad estates fail clearly."""

import json
import subprocess
import sys

import pytest
import yaml

from unroute_lab import cli as lab_cli
from unroute_lab.estate import EstateError, parse

pytestmark = pytest.mark.lab

ESTATE = {"domains": [
    {"name": "one.test", "platform": "other", "dns": {"records": ["@ 300 IN MX 10 smtp-in.mxhero.com.",
                                                                  "@ 300 IN MX 20 mx.one.test.",
                                                                  "mx 300 IN A 192.0.2.1"]}},
    {"name": "two.test", "platform": "google", "expect_error": "just a test",
     "vars": {"unroute_mx_replacement": [{"preference": 1, "exchange": "smtp.google.com"}]},
     "dns": {"records": ['@ 300 IN TXT "v=spf1 -all"']}},
]}


def test_up_status_dump_down(tmp_path):
    estate = tmp_path / "estate.yml"
    estate.write_text(yaml.safe_dump(ESTATE))
    run_dir = tmp_path / "run"
    copy = tmp_path / "inv" / "hosts.yml"
    cli = [sys.executable, "-m", "unroute_lab.cli"]
    env_path = {"PYTHONPATH": str(lab_cli.Path(lab_cli.__file__).resolve().parent.parent)}
    import os
    env = dict(os.environ, **env_path)
    subprocess.run(cli + ["up", "--estate", str(estate), "--dir", str(run_dir), "--inventory", str(copy)],
                   check=True, env=env, capture_output=True)
    try:
        manifest = json.loads((run_dir / "lab.json").read_text())
        dns = manifest["services"]["dns"]
        assert dns["zones"] == ["one.test", "two.test"] and dns["port"] > 0
        assert (run_dir / "bind" / "tsig.secret").stat().st_mode & 0o077 == 0, "secret file readable by others"
        secret = (run_dir / "bind" / "tsig.secret").read_text().strip()
        inventory = (run_dir / "inventory.yml").read_text()
        assert secret not in inventory and secret not in json.dumps(manifest)
        assert copy.read_text() == inventory
        inv = yaml.safe_load(inventory)["all"]
        assert inv["vars"]["unroute_dns_port"] == dns["port"]
        assert set(inv["children"]["other"]["hosts"]) == {"one.test"}
        two = inv["children"]["google"]["hosts"]["two.test"]
        assert two["unroute_mx_replacement"] == [{"preference": 1, "exchange": "smtp.google.com"}]
        assert "two.test" in inv["children"]["expected_errors"]["hosts"]
        status = json.loads(subprocess.run(cli + ["status", "--dir", str(run_dir)], check=True, env=env,
                                           capture_output=True, text=True).stdout)
        assert status["running"] == {"named": True} and status["domains"] == 2
        dump = json.loads(subprocess.run(cli + ["dump", "--dir", str(run_dir)], check=True, env=env,
                                         capture_output=True, text=True).stdout)
        assert "one.test. 300 IN MX 10 smtp-in.mxhero.com." in dump["dns"]["one.test"]
        again = subprocess.run(cli + ["up", "--estate", str(estate), "--dir", str(run_dir)], env=env,
                               capture_output=True, text=True)
        assert again.returncode != 0 and "already running" in again.stderr
    finally:
        subprocess.run(cli + ["down", "--dir", str(run_dir)], check=True, env=env, capture_output=True)
    status = json.loads(subprocess.run(cli + ["status", "--dir", str(run_dir)], check=True, env=env,
                                       capture_output=True, text=True).stdout)
    assert status["running"] == {}


def test_up_again_in_the_same_folder_starts_fresh(tmp_path):
    """BIND keeps updates in journals; a new lab in an old folder must not replay them."""
    import dns.query
    import dns.tsigkeyring
    import dns.update
    from unroute_lab.manifest import Lab
    estate = tmp_path / "estate.yml"
    estate.write_text(yaml.safe_dump(ESTATE))
    run_dir = tmp_path / "run"
    lab_cli.up(str(estate), str(run_dir), quiet=True)
    try:
        lab = Lab(run_dir)
        update = dns.update.UpdateMessage("one.test", keyring=dns.tsigkeyring.from_text(
            {lab.dns["key_name"]: lab.tsig_secret}), keyalgorithm=lab.dns["key_algorithm"])
        update.delete("one.test.", "MX", "10 smtp-in.mxhero.com.")
        assert dns.query.tcp(update, "127.0.0.1", port=lab.dns["port"], timeout=5).rcode() == 0
    finally:
        lab_cli.down(str(run_dir))
    lab_cli.up(str(estate), str(run_dir), quiet=True)
    try:
        assert "one.test. 300 IN MX 10 smtp-in.mxhero.com." in Lab(run_dir).records("one.test")
    finally:
        lab_cli.down(str(run_dir))


@pytest.mark.parametrize("estate,message", [
    ({"domains": [{"name": "a.test"}, {"name": "A.test."}]}, "listed twice"),
    ({"domains": [{"name": "bad_name"}]}, "not a domain name"),
    ({"domains": [{"name": "a.test", "platform": "lotus"}]}, "platform must be one of"),
    ({"domains": [{"name": "a.test", "dns": {"records": ["@ IN MX nonsense"]}}]}, "do not parse"),
    ({"nodomains": []}, "'domains' list"),
])
def test_bad_estates_name_the_problem(estate, message):
    with pytest.raises(EstateError, match=message):
        parse(estate, source="x.yml")


def test_default_estate_has_the_promised_cases():
    from helpers import DEFAULT_ESTATE
    from unroute_lab.estate import load
    estate = load(DEFAULT_ESTATE)
    names = [d.name for d in estate.domains]
    assert len(names) >= 12
    assert {"clean.test", "lookalike.test", "readonly.test", "spf-double.test", "spf-long.test"} <= set(names)
