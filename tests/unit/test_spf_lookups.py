"""RFC 7208 4.6.4 lookup counting and SPF chain following (issue 24)."""

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import spf
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import RRset
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.zone import Chains, ZoneIndex

FP = Fingerprint()


def records(table):
    def fetch(name):
        value = table.get(name)
        if isinstance(value, Exception):
            raise value
        return value
    return fetch


@pytest.mark.parametrize("policy,lookups", [
    ("v=spf1 -all", 0),
    ("v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 -all", 0),
    ("v=spf1 a mx ptr exists:%{i}.x.example -all", 4),
    ("v=spf1 a:mail.example mx:mx.example/24 ~all", 2),
    # exp= is evaluated only after a fail and does not count (RFC 7208 4.6.4 lists the terms that do).
    ("v=spf1 mx exp=explain.example -all", 1),
])
def test_terms_that_cost_a_lookup(policy, lookups):
    count = spf.count_lookups("example.com", policy, records({}))
    assert count.lookups == lookups and count.voids == 0 and not count.over


def test_nested_includes_and_redirect_add_up():
    table = {"_spf.example.com.": "v=spf1 a mx include:_b.example.com -all",
             "_b.example.com.": "v=spf1 a:x.example a:y.example -all",
             "_r.example.com.": "v=spf1 mx -all"}
    count = spf.count_lookups("example.com", "v=spf1 include:_spf.example.com redirect=_r.example.com",
                              records(table))
    # include(1) + a mx include(3) + a a(2) + redirect(1) + mx(1)
    assert count.lookups == 8 and not count.over


def test_eleven_lookups_is_over_the_limit():
    policy = "v=spf1 " + " ".join("a:h%d.example" % i for i in range(11)) + " -all"
    count = spf.count_lookups("example.com", policy, records({}))
    assert count.lookups == 11 and count.over
    assert "11 DNS lookups (limit 10)" in count.text()


def test_void_lookups_over_two_are_over():
    policy = "v=spf1 include:a.example include:b.example include:c.example -all"
    count = spf.count_lookups("example.com", policy, records({}))
    assert count.voids == 3 and count.lookups == 3 and count.over


def test_loop_is_detected_and_over():
    table = {"a.example.com.": "v=spf1 include:b.example.com -all",
             "b.example.com.": "v=spf1 include:a.example.com -all"}
    count = spf.count_lookups("example.com", "v=spf1 include:a.example.com -all", records(table))
    assert count.loops == [["example.com.", "a.example.com.", "b.example.com.", "a.example.com."]]
    assert count.over


def test_mxhero_include_is_counted_not_followed():
    asked = []

    def fetch(name):
        asked.append(name)
        return None
    count = spf.count_lookups("example.com", "v=spf1 include:spf.mxhero.com -all", fetch, skip=FP.host)
    assert count.lookups == 1 and asked == []


def test_unreadable_name_makes_the_count_a_lower_bound():
    count = spf.count_lookups("example.com", "v=spf1 include:x.example -all",
                              records({"x.example.": spf.LookupFailed("x.example could not be read")}))
    assert count.unknown and "at least" in count.text()


def test_redirect_next_to_all_is_not_followed():
    assert spf.chain_targets("v=spf1 redirect=_r.example.com -all") == []
    assert [t for dummy, t in spf.chain_targets("v=spf1 include:%{d}.x.example redirect=_r.example.com")] == [
        "_r.example.com."]


def test_removing_terms_never_costs_more():
    table = {"_spf.example.com.": "v=spf1 a include:spf.mxhero.com -all"}
    before = "v=spf1 include:_spf.example.com include:spf.mxhero.com mx ~all"
    after = spf.SpfRewrite(before, FP).after
    a = spf.count_lookups("example.com", before, records(table), skip=FP.host)
    b = spf.count_lookups("example.com", after, records(table), skip=FP.host)
    assert b.lookups < a.lookups


def zone(*rows):
    return ZoneIndex("example.com", [RRset(name, rdtype, 3600, values) for name, rdtype, values in rows], 0.0)


def test_chain_in_zone_is_followed_and_shown():
    index = zone(("example.com.", "TXT", ['"v=spf1 include:_spf.example.com ~all"']),
                 ("_spf.example.com.", "TXT", ['"v=spf1 ip4:192.0.2.1 include:spf.mxhero.com -all"']),
                 ("bounce.example.com.", "TXT", ['"v=spf1 redirect=_spf.example.com"']))
    chains = Chains(index, FP, ["example.com"], records({})).follow()
    # Two chains of one length reach _spf (from the apex and from bounce): the apex's is the one shown.
    assert chains.via["_spf.example.com."] == ["example.com.", "_spf.example.com."]
    assert index.spf_names(FP) == ["_spf.example.com."]
    assert not chains.loops and not chains.foreign


def test_loop_in_zone_reported_once():
    index = zone(("example.com.", "TXT", ['"v=spf1 include:a.example.com ~all"']),
                 ("a.example.com.", "TXT", ['"v=spf1 include:b.example.com -all"']),
                 ("b.example.com.", "TXT", ['"v=spf1 include:a.example.com -all"']))
    chains = Chains(index, FP, ["example.com"], records({})).follow()
    assert len(chains.loops) == 1


def test_chain_out_of_the_customers_zones_names_the_service():
    index = zone(("example.com.", "TXT", ['"v=spf1 include:relay.example.net ~all"']),
                 ("other.example.com.", "TXT", ['"v=spf1 include:_spf.customer2.example ~all"']))
    outside = records({"relay.example.net.": "v=spf1 include:spf.mxhero.com -all",
                       "_spf.customer2.example.": "v=spf1 ip4:54.208.111.28 -all"})
    chains = Chains(index, FP, ["example.com", "customer2.example"], outside).follow()
    zones = dict((chain[-1], zone_) for chain, zone_, dummy in chains.foreign)
    assert zones == {"relay.example.net.": None, "_spf.customer2.example.": "customer2.example."}


def test_names_below_a_zone_cut_are_not_this_zones():
    index = zone(("child.example.com.", "NS", ["ns1.other.example."]),
                 ("child.example.com.", "MX", ["10 smtp-in.mxhero.com."]),
                 ("news.example.com.", "MX", ["10 smtp-in.mxhero.com.", "20 mail.example.com."]))
    assert index.mx_names(FP) == ["news.example.com."]
