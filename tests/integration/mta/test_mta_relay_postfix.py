"""mta_relay against real Postfix (Debian package), run by ansible-playbook as a classic module."""

from __future__ import annotations

import os
import subprocess

import pytest

from mta_fixtures import SSHServer, actions, needs_postfix, play, postconf, postfix_instance, snapshot

pytestmark = needs_postfix

TRANSPORT = """\
    # domain routing of the customer
    example.com     smtp:[smtp.mxhero.com]:25
    partner.test    smtp:[mx.partner.test]
    sub.example.com smtp:[54.208.111.28]
    """
SENDER_RELAY = """\
    @example.com    [smtp.mxhero.com]:587
    @other.test     [relay.other.test]
    """


def estate(tmp_path, **main):
    """An instance with mxHero in every place a relay can hide (and the customer's own routes beside it)."""
    settings = {
        "relayhost": "[smtp.mxhero.com]:25",
        "smtp_fallback_relay": "[backup.isp.test], smtp.mxhero.com",
        "default_transport": "smtp:[smtp.mxhero.com]:25",
        "transport_maps": "hash:DIR/transport",
        "sender_dependent_relayhost_maps": "hash:DIR/sender_relay",
    }
    settings.update(main)
    return postfix_instance(
        tmp_path, main=dict((k, v) for k, v in settings.items() if v is not None),
        master_lines=["outbound unix - - y - - smtp", "  -o relayhost=[smtp.mxhero.com]:25",
                      "bulk unix - - y - - smtp", "  -o relayhost=[bulk.isp.test]"],
        tables={"transport": TRANSPORT, "sender_relay": SENDER_RELAY})


def query(directory, table, key):
    proc = subprocess.run(["/usr/sbin/postmap", "-c", str(directory), "-q", key, "hash:%s/%s" % (directory, table)],
                          stdout=subprocess.PIPE, universal_newlines=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


EXPECTED = [
    ("relayhost", "%(d)s/main.cf relayhost"),
    ("relayhost", "%(d)s/main.cf smtp_fallback_relay"),
    ("relayhost_map_entry", "%(d)s/sender_relay @example.com"),
    ("service_override", "%(d)s/master.cf outbound/unix -o relayhost"),
    ("transport", "%(d)s/main.cf default_transport"),
    ("transport_map_entry", "%(d)s/transport example.com"),
    ("transport_map_entry", "%(d)s/transport sub.example.com"),
]


def test_check_mode_changes_nothing_and_reports_what_a_run_removes(tmp_path):
    directory = estate(tmp_path)
    before = snapshot(directory)
    planned = play(tmp_path, {"mta": "auto", "config_dir": str(directory)}, check=True, diff=True, name="check")
    assert not planned.get("failed"), planned
    assert planned["changed"] is True
    assert snapshot(directory) == before
    assert actions(planned) == sorted((k, o % {"d": directory}, "would_remove" if k != "relayhost" or
                                       "fallback" not in o else "would_change") for k, o in EXPECTED)
    assert "relayhost = [smtp.mxhero.com]:25" in planned["diff"]["before"]
    assert "relayhost = [smtp.mxhero.com]:25" not in planned["diff"]["after"]

    done = play(tmp_path, {"config_dir": str(directory)}, diff=True)
    assert not done.get("failed"), done
    assert done["changed"] is True and done["mta"] == "postfix"
    assert [(f["kind"], f["object"]) for f in sorted(done["findings"], key=lambda f: f["object"])] == \
        [(f["kind"], f["object"]) for f in sorted(planned["findings"], key=lambda f: f["object"])]
    assert done["diff"] == planned["diff"]
    assert all(f["action"] in ("removed", "changed") for f in done["findings"])


def test_run_removes_only_mxhero_and_second_run_is_clean(tmp_path):
    directory = estate(tmp_path)
    result = play(tmp_path, {"config_dir": str(directory)})
    assert not result.get("failed"), result
    assert postconf(directory, "-h", "relayhost").strip() == ""
    assert postconf(directory, "-h", "smtp_fallback_relay").strip() == "[backup.isp.test]"
    assert postconf(directory, "-n", "default_transport").strip() == ""  # back to Postfix's default (smtp)
    master = postconf(directory, "-P")
    assert "outbound/unix/relayhost" not in master
    assert "bulk/unix/relayhost = [bulk.isp.test]" in master
    transport = (directory / "transport").read_text()
    assert "mxhero" not in transport and "54.208.111.28" not in transport
    assert "# domain routing of the customer" in transport and "partner.test" in transport
    # postmap rebuilt the indexed tables: Postfix's own lookups agree with the source files.
    assert query(directory, "transport", "example.com") is None
    assert query(directory, "transport", "partner.test") == "smtp:[mx.partner.test]"
    assert query(directory, "sender_relay", "@example.com") is None
    assert query(directory, "sender_relay", "@other.test") == "[relay.other.test]"
    # Backups of every edited file sit next to it, byte for byte the originals.
    names = sorted(p.split("/")[-1].split(".")[0] for p in result["backup_files"])
    assert names == ["main", "master", "sender_relay", "transport"]
    assert subprocess.run(["/usr/sbin/postfix", "-c", str(directory), "check"]).returncode == 0

    again = play(tmp_path, {"config_dir": str(directory)}, name="again")
    assert again["changed"] is False and again["findings"] == [], again
    assert again["backup_files"] == []


def test_clean_host_reports_clean(tmp_path):
    directory = postfix_instance(tmp_path, main={"relayhost": "[smtp.isp.test]:587"})
    before = snapshot(directory)
    result = play(tmp_path, {"mta": "postfix", "config_dir": str(directory)})
    assert result["changed"] is False and result["findings"] == [], result
    assert snapshot(directory) == before


def test_replaced_puts_the_relay_where_mxhero_was(tmp_path):
    directory = estate(tmp_path)
    result = play(tmp_path, {"config_dir": str(directory), "state": "replaced",
                             "replacement": "[192.0.2.25]:587"})
    assert not result.get("failed"), result
    assert postconf(directory, "-h", "relayhost").strip() == "[192.0.2.25]:587"
    assert postconf(directory, "-h", "default_transport").strip() == "smtp:[192.0.2.25]:587"
    assert postconf(directory, "-h", "smtp_fallback_relay").strip() == "[backup.isp.test], [192.0.2.25]:587"
    assert "outbound/unix/relayhost = [192.0.2.25]:587" in postconf(directory, "-P")
    assert query(directory, "transport", "example.com") == "smtp:[192.0.2.25]:587"
    assert query(directory, "sender_relay", "@example.com") == "[192.0.2.25]:587"
    assert {f["action"] for f in result["findings"]} == {"changed"}
    assert play(tmp_path, {"config_dir": str(directory), "state": "replaced",
                           "replacement": "[192.0.2.25]:587"}, name="again")["changed"] is False


def test_replacement_is_validated_before_anything_changes(tmp_path):
    directory = estate(tmp_path)
    before = snapshot(directory)
    mx = play(tmp_path, {"config_dir": str(directory), "state": "replaced", "replacement": "[relay.mxhero.com]:25"},
              name="mx")
    assert mx["failed"] and "\n" not in mx["msg"]
    assert "replacement [relay.mxhero.com]:25" in mx["msg"] and "mxHero" in mx["msg"], mx["msg"]
    bad = play(tmp_path, {"config_dir": str(directory), "state": "replaced", "replacement": "smtp.isp.test:99999"},
               name="bad")
    assert bad["failed"] and "replacement 'smtp.isp.test:99999'" in bad["msg"] and "[host]:port" in bad["msg"]
    missing = play(tmp_path, {"config_dir": str(directory), "state": "replaced"}, name="missing")
    assert missing["failed"] and "replacement" in missing["msg"]
    assert snapshot(directory) == before


def test_failing_postfix_check_restores_every_file(tmp_path):
    # A daemon_directory that does not exist: postconf edits fine, postfix check fails (before and after).
    directory = estate(tmp_path, daemon_directory=str(tmp_path / "no-such-dir"))
    before = snapshot(directory)
    result = play(tmp_path, {"config_dir": str(directory)})
    assert result["failed"] is True and "\n" not in result["msg"]
    assert "postfix check failed" in result["msg"] and "restored" in result["msg"], result["msg"]
    assert "already failed postfix check" in result["msg"]
    assert str(directory) in result["msg"]
    after = snapshot(directory)
    assert after == before
    assert query(directory, "transport", "example.com") == "smtp:[smtp.mxhero.com]:25"


def test_null_client_relayhost_is_refused(tmp_path):
    directory = postfix_instance(tmp_path, main={"relayhost": "[smtp.mxhero.com]", "disable_dns_lookups": "yes"})
    before = snapshot(directory)
    result = play(tmp_path, {"config_dir": str(directory)})
    assert result["failed"] and "\n" not in result["msg"]
    assert "%s/main.cf relayhost" % directory in result["msg"] and "replacement" in result["msg"]
    assert snapshot(directory) == before


def test_info_reports_the_same_places_and_writes_nothing(tmp_path):
    directory = estate(tmp_path)
    before = snapshot(directory)
    info = play(tmp_path, {"module": "mta_info", "config_dir": str(directory)}, name="info")
    assert not info.get("failed"), info
    assert snapshot(directory) == before
    assert sorted((f["kind"], f["object"].split(": ", 1)[1]) for f in info["findings"]) == \
        sorted((k, o % {"d": directory}) for k, o in EXPECTED)
    assert {f["action"] for f in info["findings"]} == {"reported"}
    # The instance is not running: the queue cannot be listed, and the module says so instead of guessing.
    assert info["queued"] == [] and any("queue not read" in c for c in info["cautions"]), info["cautions"]


@pytest.fixture
def sshd(tmp_path):
    if not os.path.exists("/usr/sbin/sshd"):
        pytest.skip("needs Debian's openssh-server (scripts/setup.sh installs it)")
    server = SSHServer(tmp_path / "sshd")
    yield server
    server.stop()


def test_runs_as_a_remote_module_over_ssh(tmp_path, sshd):
    directory = estate(tmp_path)
    result = play(tmp_path, {"config_dir": str(directory), "state": "replaced", "replacement": "[192.0.2.25]:587"},
                  connection=sshd.inventory())
    assert not result.get("failed"), result["_stdout"]
    assert result["changed"] is True and len(result["findings"]) == len(EXPECTED)
    assert postconf(directory, "-h", "relayhost").strip() == "[192.0.2.25]:587"
    # The task went through sshd: its log shows the key login.
    assert "Accepted publickey" in (tmp_path / "sshd" / "sshd.log").read_text()


def test_removed_lists_every_place_as_it_was(tmp_path):
    directory = estate(tmp_path)
    result = play(tmp_path, {"config_dir": str(directory)})
    assert {"file": "%s/main.cf" % directory, "parameter": "relayhost", "value": "[smtp.mxhero.com]:25"} \
        in result["removed"]
    assert {"file": "%s/transport" % directory, "table": "transport_maps", "key": "example.com",
            "value": "smtp:[smtp.mxhero.com]:25"} in result["removed"]
    assert len(result["removed"]) == len(EXPECTED)
