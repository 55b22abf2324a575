"""A running Postfix instance (loopback only): mail goes to a sink standing for mxHero before the run, to the
replacement relay after it, and the module reloads the instance it edited."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from pathlib import Path

import pytest

from mta_fixtures import needs_postfix, play, postconf, postfix_instance
from smtp_sink import Sink

pytestmark = needs_postfix

MXHERO_STAND_IN = "127.0.0.2"
CUSTOMER_RELAY = "127.0.0.3"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running_postfix():
    # Postfix's daemons drop to the postfix user: its data directory must be reachable, and pytest's tmp is not.
    base = Path(tempfile.mkdtemp(prefix="unroute-postfix-"))
    base.chmod(0o755)
    sinks = {"mxhero": Sink(MXHERO_STAND_IN), "customer": Sink(CUSTOMER_RELAY)}
    directory = postfix_instance(base, main={
        "relayhost": "[%s]:%d" % (MXHERO_STAND_IN, sinks["mxhero"].port),
        "maillog_file_prefixes": str(base), "maillog_file": str(base / "maillog"),
    })
    master = directory / "master.cf"
    # Our own listener on a free loopback port; no chroot (the queue is a test directory).
    text = re.sub(r"(?m)^smtp(\s+)inet", "127.0.0.1:%d\\1inet" % free_port(), master.read_text())
    master.write_text(text + "postlog   unix-dgram n  -       n       -       1       postlogd\n"
                      if "postlogd" not in text else text)
    postconf(directory, "-F", "*/*/chroot = n")
    os.chown(str(base / "data"), int(subprocess.check_output(["id", "-u", "postfix"])), -1)
    subprocess.run(["/usr/sbin/postfix", "-c", str(directory), "start"], check=True)
    yield directory, sinks, base / "maillog"
    subprocess.run(["/usr/sbin/postfix", "-c", str(directory), "stop"])
    for sink in sinks.values():
        sink.stop()
    shutil.rmtree(str(base), ignore_errors=True)


def send(directory, subject):
    message = "From: app@lab.test\nTo: someone@example.net\nSubject: %s\n\nhello\n" % subject
    subprocess.run(["/usr/sbin/sendmail", "-C", str(directory), "-f", "app@lab.test", "someone@example.net"],
                   input=message, universal_newlines=True, check=True)
    subprocess.run(["/usr/sbin/postqueue", "-c", str(directory), "-f"], check=False)


def delivered(sink, subject, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any("Subject: %s" % subject in m for m in sink.messages):
            return True
        time.sleep(0.5)
    return False


def test_mail_flows_to_the_replacement_after_the_run(running_postfix, tmp_path):
    directory, sinks, maillog = running_postfix
    send(directory, "before the run")
    assert delivered(sinks["mxhero"], "before the run"), maillog.read_text()

    replacement = "[%s]:%d" % (CUSTOMER_RELAY, sinks["customer"].port)
    result = play(tmp_path, {"config_dir": str(directory), "state": "replaced", "replacement": replacement,
                             "mxhero_ips": [MXHERO_STAND_IN]})
    assert not result.get("failed"), result
    assert result["reloaded"] is True
    assert [f["kind"] for f in result["findings"]] == ["relayhost"]
    assert result["findings"][0]["evidence"] == ["ip %s" % MXHERO_STAND_IN]
    assert "reload -- version" in maillog.read_text()

    send(directory, "after the run")
    assert delivered(sinks["customer"], "after the run"), maillog.read_text()
    assert not any("after the run" in m for m in sinks["mxhero"].messages)


def test_info_reports_mail_stuck_for_mxhero(running_postfix, tmp_path):
    directory, sinks, maillog = running_postfix
    sinks["mxhero"].stop()  # mxHero's relay is gone: mail for it waits in the deferred queue
    send(directory, "stuck")
    deadline = time.time() + 30
    info = None
    while time.time() < deadline:
        info = play(tmp_path, {"module": "mta_info", "config_dir": str(directory), "mxhero_ips": [MXHERO_STAND_IN]},
                    name="info")
        if info.get("queued") and info["queued"][0]["reason"]:
            break
        time.sleep(2)
    assert not info.get("failed"), info
    assert info["changed"] is False
    assert [(f["kind"], f["action"]) for f in info["findings"]] == [("relayhost", "reported")]
    assert len(info["queued"]) == 1, info["queued"]
    stuck = info["queued"][0]
    assert stuck["recipient"] == "someone@example.net" and stuck["sender"] == "app@lab.test"
    assert MXHERO_STAND_IN in stuck["reason"] and "ip %s" % MXHERO_STAND_IN in stuck["evidence"]


def test_a_next_hop_that_does_not_resolve_is_undone_and_reloaded_again(running_postfix, tmp_path):
    """After the reload Postfix reads the new relay back and it must resolve; if not, the old relay is back in
    the running instance and mail keeps flowing where it did."""
    directory, sinks, maillog = running_postfix
    before = (directory / "main.cf").read_text()
    result = play(tmp_path, {"config_dir": str(directory), "state": "replaced",
                             "replacement": "[relay.unroute.invalid]:25", "mxhero_ips": [MXHERO_STAND_IN]})
    assert result.get("failed") is True and "partial" not in result, result
    assert "replacement [relay.unroute.invalid]:25: " in result["msg"] and "Postfix reloaded" in result["msg"]
    assert (directory / "main.cf").read_text() == before
    # Reloaded with the new value, then again with the old one.
    assert maillog.read_text().count("reload -- version") == 2, maillog.read_text()
    send(directory, "after the failed run")
    assert delivered(sinks["mxhero"], "after the failed run"), maillog.read_text()
