"""Issue 21 (figures): what an estate run saves on the wire against a real BIND must not change an answer.
Reads share one TCP connection (RFC 7766 6.2.1) and survive the server closing it; a zone transfer is reused
only while the zone's SOA serial stands; DKIM selectors the zone read holds are not asked again."""

from __future__ import annotations

import socket

import dns.query
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import pytest

from helpers import dns_args, run_module
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import rfc2136
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rfc2136 import Rfc2136Provider

pytestmark = pytest.mark.lab

ESTATE = {"domains": [
    {"name": "reuse.test", "platform": "other", "dns": {"records": [
        "@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.example.net.",
        '@ 3600 IN TXT "v=spf1 include:spf.mxhero.com ~all"',
        "selector1._domainkey 3600 IN CNAME selector1.dkim.mxhero.com.",
        "google._domainkey 3600 IN CNAME google.dkim.example.net."]}},
]}


@pytest.fixture
def lab(lab_factory):
    return lab_factory(ESTATE, name="reuse")


def _provider(lab, zone="reuse.test"):
    dns_ = lab.dns
    return Rfc2136Provider(zone, server=dns_["server"], port=dns_["port"], key_name=dns_["key_name"],
                           key_secret=lab.tsig_secret, key_algorithm=dns_["key_algorithm"])


def _outside_update(lab, zone, name, value):
    """A change nobody of ours made: a dynamic update straight to BIND (it raises the serial)."""
    dns_ = lab.dns
    keyring = dns.tsigkeyring.from_text({dns_["key_name"]: lab.tsig_secret})
    update = dns.update.UpdateMessage(zone, keyring=keyring, keyname=dns_["key_name"],
                                      keyalgorithm=dns_["key_algorithm"])
    update.add(name, 300, "TXT", value)
    dns.query.tcp(update, dns_["server"], port=dns_["port"], timeout=10)


@pytest.fixture
def connects(monkeypatch):
    count = []
    real = Rfc2136Provider._connect

    def counting(self, what):
        count.append(what)
        return real(self, what)
    monkeypatch.setattr(Rfc2136Provider, "_connect", counting)
    return count


def test_reads_share_one_connection_and_a_connection_the_server_closed_is_replaced(lab, connects):
    rfc2136._CONNECTIONS.socks = {}
    provider = _provider(lab)
    for _ in range(4):
        assert sorted(provider.read("reuse.test.", "MX").values) == ["10 smtp-in.mxhero.com.",
                                                                     "20 mail.example.net."]
    assert len(connects) == 1, connects
    # The server (or a middlebox) drops the idle connection: the next read asks again on a new one.
    for sock in rfc2136._CONNECTIONS.socks.values():
        sock.shutdown(socket.SHUT_RDWR)
    assert provider.read("reuse.test.", "TXT").values == ['"v=spf1 include:spf.mxhero.com ~all"']
    assert len(connects) == 2


def test_a_zone_transfer_is_reused_only_while_the_serial_stands(lab, monkeypatch):
    transfers = []
    real = dns.query.xfr

    def counting(*args, **kwargs):
        transfers.append(args[1])
        return real(*args, **kwargs)
    monkeypatch.setattr(dns.query, "xfr", counting)
    rfc2136._ZONES.clear()
    first = {(r.name, r.rdtype): sorted(r.values) for r in _provider(lab).read_zone()}
    again = {(r.name, r.rdtype): sorted(r.values) for r in _provider(lab).read_zone()}
    assert again == first and len(transfers) == 1
    _outside_update(lab, "reuse.test", "new.reuse.test.", '"v=spf1 include:spf.mxhero.com -all"')
    after = {(r.name, r.rdtype): sorted(r.values) for r in _provider(lab).read_zone()}
    assert len(transfers) == 2
    assert after[("new.reuse.test.", "TXT")] == ['"v=spf1 include:spf.mxhero.com -all"']


def test_our_own_write_drops_the_kept_transfer(lab):
    rfc2136._ZONES.clear()
    run_module("dns_info", dns_args(lab, "reuse.test", zone_scan=True, checks=["mx"]))
    real = run_module("dns_mx", dns_args(lab, "reuse.test", zone_scan=True))
    assert real["changed"]
    again = run_module("dns_mx", dns_args(lab, "reuse.test", zone_scan=True))
    assert not again["changed"], again["findings"]


def test_dkim_selectors_the_zone_read_holds_are_not_asked_again(lab, monkeypatch):
    asked = []
    real = Rfc2136Provider.read

    def counting(self, name, rdtype):
        asked.append((name, rdtype))
        return real(self, name, rdtype)
    monkeypatch.setattr(Rfc2136Provider, "read", counting)
    scanned = run_module("dns_info", dns_args(lab, "reuse.test", zone_scan=True, checks=["dkim"]))
    assert not [a for a in asked if a[1] == "CNAME"], asked
    found = sorted(f["before"]["record"] for f in scanned["findings"] if f["kind"] == "dkim_cname")
    assert found == ["selector1._domainkey.reuse.test."]
    # Without the zone read each selector is asked, with the same answer.
    plain = run_module("dns_info", dns_args(lab, "reuse.test", checks=["dkim"]))
    assert [a for a in asked if a[1] == "CNAME"]
    assert sorted(f["before"]["record"] for f in plain["findings"] if f["kind"] == "dkim_cname") == found
