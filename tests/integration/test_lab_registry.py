"""The lab's one service contract: what REGISTRY lists is what 'up' starts and 'down' stops, for process services
and emulators alike; WinRM's acceptor environment does not outlive the service."""

import json
import os
import subprocess
import types

import pytest
import yaml

from unroute_lab import cli as lab_cli
from unroute_lab import services as registry
from unroute_lab.services.base import LabService
from unroute_lab.services.winrm import WinRMService

pytestmark = pytest.mark.lab


class SleeperService(LabService):
    """A process service as a new one would be written: a child process, an entry, host variables."""

    name = "sleeper"
    section = "sleeper"
    process = True

    def start(self):
        proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
        self.ctx.pids["sleeper"] = proc.pid
        # It reads what an earlier service of the registry published.
        return {"pid": proc.pid, "dns_port": self.ctx.services["dns"]["port"]}

    def host_vars(self, domain):
        return {"sleeper_domain": domain.name}

    @classmethod
    def down(cls, directory):
        (directory / "sleeper.down").write_text("asked\n")


def test_every_registry_entry_is_a_named_lab_service():
    classes = registry.load_services()
    assert classes and all(issubclass(cls, LabService) and cls.name for cls in classes)
    assert len({cls.name for cls in classes}) == len(classes)
    # BIND first: every later process service may read its entry.
    assert classes[0].process and classes[0].name == "dns"
    assert set(registry.load_services(process=True)) | set(registry.load_services(process=False)) == set(classes)


def test_up_and_down_follow_the_registry(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY", ["unroute_lab.bind:BindService", "%s:SleeperService" % __name__])
    estate = tmp_path / "estate.yml"
    estate.write_text(yaml.safe_dump({"domains": [
        {"name": "one.test", "platform": "other", "sleeper": {}},
        {"name": "two.test", "platform": "other"}]}))
    run_dir = tmp_path / "run"
    manifest = lab_cli.up(str(estate), str(run_dir), quiet=True)
    pids = json.loads((run_dir / "pids.json").read_text())
    try:
        entry = manifest["services"]["sleeper"]
        assert entry["dns_port"] == manifest["services"]["dns"]["port"]
        assert set(pids) == {"named", "sleeper"} and pids["sleeper"] == entry["pid"]
        assert "control_port" not in manifest, "no emulator wanted, no supervisor"
        inventory = yaml.safe_load((run_dir / "inventory.yml").read_text())
        assert inventory["all"]["children"]["other"]["hosts"]["one.test"]["sleeper_domain"] == "one.test"
        assert json.loads((run_dir / "lab.json").read_text())["domains"]["two.test"]["vars"] == {
            "sleeper_domain": "two.test"}
    finally:
        lab_cli.down(str(run_dir))
    assert (run_dir / "sleeper.down").read_text() == "asked\n"
    assert not any(lab_cli._alive(pid) for pid in pids.values())


def test_winrm_acceptor_environment_is_undone_on_stop(tmp_path, monkeypatch):
    monkeypatch.setenv("NTLM_USER_FILE", "/somewhere/else")
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    service = WinRMService(types.SimpleNamespace(dir=tmp_path))
    service.kdc = types.SimpleNamespace(krb5_conf=tmp_path / "krb5.conf", keytab=tmp_path / "http.keytab",
                                        stop=lambda: None)
    service._acceptor_environment(tmp_path / "ntlm_users")
    assert os.environ["NTLM_USER_FILE"] == str(tmp_path / "ntlm_users")
    assert os.environ["KRB5_KTNAME"] == "FILE:%s" % (tmp_path / "http.keytab")
    service.stop()
    assert os.environ["NTLM_USER_FILE"] == "/somewhere/else"
    assert "KRB5_KTNAME" not in os.environ and "KRB5RCACHETYPE" not in os.environ
