"""The one fingerprint: label boundaries, lookalikes, IPs, CIDRs, names, headers, extensions."""

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    DEFAULT_IPS, Fingerprint, fingerprint_from_params, normalize_host)

FP = Fingerprint()


@pytest.mark.parametrize("host", [
    "smtp-in.mxhero.com", "smtp-in.mxhero.com.", "SMTP-IN.MXHERO.COM.", "mxhero.com", "gmail-out.mxhero.com",
    "[smtp.mxhero.com]", "smtp.mxhero.com:25", "a.b.c.mxhero.com",
])
def test_mxhero_hosts_match(host):
    assert FP.host(host) is not None


@pytest.mark.parametrize("host", [
    "notmxhero.com", "mxhero.com.evil.example", "mxhero.co", "smtp.mxhero.co", "mxhero.community",
    "xmxhero.com", "mxhero-com.example", "", None, "smtp.google.com",
])
def test_lookalikes_do_not_match(host):
    assert FP.host(host) is None


def test_evidence_names_the_normalised_host():
    assert FP.host("[SMTP.MXHERO.COM]:25".replace(":25", "")) == "host smtp.mxhero.com"


@pytest.mark.parametrize("ip", DEFAULT_IPS)
def test_published_ips_match(ip):
    assert FP.ip(ip) == "ip %s" % ip
    assert FP.ip(ip + "/32") == "ip %s" % ip


def test_neighbour_ip_and_wide_network():
    assert FP.ip("54.208.111.29") is None
    assert FP.ip("54.208.0.0/16") is None  # may hold other tenants: report only
    assert FP.ip_overlap("54.208.0.0/16") == "cidr 54.208.0.0/16 contains 54.208.111.28"
    assert Fingerprint(match_cidrs=True).ip("54.208.0.0/16") is not None
    assert FP.ip("not an ip") is None
    assert FP.ip("2001:db8::1") is None


def test_names_and_headers():
    assert FP.name("Route via MXHero") == "name contains mxhero"
    assert FP.name("Partner connector") is None
    assert FP.header("X-mxHero-Id") == "header X-mxHero-Id"
    assert FP.header("X-Other") is None


def test_scan_text_finds_hosts_and_ips_not_lookalikes():
    text = "relay smtp.mxhero.com, 54.236.184.32 and notmxhero.com plus mxhero.com.evil.example 10.0.0.1"
    assert FP.scan_text(text) == ["host smtp.mxhero.com", "ip 54.236.184.32"]


def test_extensions_from_params():
    fp = fingerprint_from_params({"mxhero_domains": ["relay.example.net"], "mxhero_ips": ["198.51.100.0/24"],
                                  "mxhero_name_patterns": ["legacy-gw"], "match_cidrs": False})
    assert fp.host("eu.relay.example.net") == "host eu.relay.example.net"
    assert fp.host("example.net") is None
    assert fp.ip("198.51.100.7") == "ip 198.51.100.7 in 198.51.100.0/24"
    assert fp.name("LEGACY-GW agent") == "name contains legacy-gw"
    assert fp.host("smtp-in.mxhero.com")  # defaults stay


def test_bad_extra_ip_is_rejected():
    with pytest.raises(ValueError, match="not-an-ip"):
        fingerprint_from_params({"mxhero_ips": ["not-an-ip"]})


def test_normalize_host():
    assert normalize_host(" [Smtp.MXHERO.com] ") == "smtp.mxhero.com"
    assert normalize_host("host.example.:587") == "host.example"


@pytest.mark.parametrize("value, exact, overlap", [
    # the three forms Exchange and Google accept for an allow list or a rule's IP condition
    ("52.22.51.97", "ip 52.22.51.97", None),
    ("52.22.51.97/32", "ip 52.22.51.97", None),
    ("52.22.51.97-52.22.51.97", "ip 52.22.51.97", None),
    ("52.22.51.0/24", None, "cidr 52.22.51.0/24 contains 52.22.51.97"),
    ("52.22.51.90-52.22.51.100", None, "range 52.22.51.90-52.22.51.100 contains 52.22.51.97"),
    (" 52.22.51.90 - 52.22.51.100 ", None, "range 52.22.51.90-52.22.51.100 contains 52.22.51.97"),
    ("52.22.51.98-52.22.51.100", None, None),
    ("52.22.51.100-52.22.51.90", None, None),  # reversed: not a range
    ("52.22.51.90-2001:db8::1", None, None),
    ("1-2", None, None),
])
def test_ip_ranges_in_all_three_forms(value, exact, overlap):
    assert FP.ip(value) == exact
    assert FP.ip_overlap(value) == overlap


def test_a_range_containing_an_mxhero_ip_is_a_match_only_with_match_cidrs():
    wide = Fingerprint(match_cidrs=True)
    assert wide.ip("52.22.51.90-52.22.51.100") == "range 52.22.51.90-52.22.51.100 contains 52.22.51.97"
    assert wide.ip_overlap("52.22.51.90-52.22.51.100") is None


def test_extra_ips_may_be_ranges():
    fp = fingerprint_from_params({"mxhero_ips": ["198.51.100.10-198.51.100.20"]})
    assert fp.ip("198.51.100.15") == "ip 198.51.100.15 in 198.51.100.12/30"
    assert fp.ip("198.51.100.21") is None
    assert fp.ip_overlap("198.51.100.0/24") == "cidr 198.51.100.0/24 contains 198.51.100.10"
