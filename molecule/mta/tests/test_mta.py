"""What the converge left on the mail servers (testinfra, run by molecule's verifier)."""

import os

import pytest

BASE = os.environ.get("UNROUTE_MTA_DIR", "/tmp/unroute-molecule-mta")
testinfra_hosts = ["ansible://mail1", "ansible://mail2"]


def postconf(host, name, *args):
    return host.check_output("postconf -c %s/%s %s %s" % (BASE, host.backend.host, " ".join(args), name))


@pytest.fixture
def name(host):
    return host.backend.host


def test_relayhost_is_the_replacement_or_empty(host, name):
    expected = "[192.0.2.25]:587" if name == "mail1" else ""
    assert postconf(host, "relayhost", "-h").strip() == expected
    assert "mxhero" not in postconf(host, "", "-n")
    assert "mxhero" not in postconf(host, "", "-P")


def test_map_lines_gone_customer_lines_kept(host, name):
    transport = host.file("%s/%s/transport" % (BASE, name)).content_string
    assert "mxhero" not in transport and "partner.test" in transport

    def query(key):
        found = host.run("postmap -c %s/%s -q %s hash:%s/%s/transport", BASE, name, key, BASE, name)
        return found.stdout.strip() if found.rc == 0 else None

    assert query("partner.test") == "smtp:[mx.partner.test]"
    assert query("example.com") == ("smtp:[192.0.2.25]:587" if name == "mail1" else None)


def test_postfix_check_clean(host, name):
    assert host.run("postfix -c %s/%s check", BASE, name).rc == 0


def test_service_running_where_it_ran(host, name):
    status = host.run("postfix -c %s/%s status", BASE, name)
    assert (status.rc == 0) == (name == "mail1")
