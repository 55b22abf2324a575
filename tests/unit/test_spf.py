"""SPF codec: parsing, which terms are mxHero's, rewriting, re-splitting - with property tests."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import DEFAULT_IPS, Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import spf

FP = Fingerprint()


def rewrite(policy):
    return spf.SpfRewrite(policy, FP)


@pytest.mark.parametrize("policy,after", [
    ("v=spf1 include:_spf.google.com include:spf.mxhero.com ~all", "v=spf1 include:_spf.google.com ~all"),
    ("v=spf1 ip4:54.208.111.28 ip4:192.0.2.1 -all", "v=spf1 ip4:192.0.2.1 -all"),
    ("v=spf1 +ip4:3.211.77.148/32 mx ?all", "v=spf1 mx ?all"),
    ("v=spf1 ?a:relay.mxhero.com/24 a mx:MX.MXHERO.COM -all", "v=spf1 a -all"),
    ("v=spf1 exists:%{i}._spf.mxhero.com include:x.example ~all", "v=spf1 include:x.example ~all"),
    ("v=spf1 ip4:192.0.2.60 redirect=_spf.mxhero.com", "v=spf1 ip4:192.0.2.60"),
    ("V=SPF1 -include:mxhero.com ~all", "V=SPF1 ~all"),
])
def test_removes_only_mxhero_terms(policy, after):
    result = rewrite(policy)
    assert result.changed
    assert result.after == after


@pytest.mark.parametrize("policy", [
    "v=spf1 include:notmxhero.com include:mxhero.com.evil.example a:mxhero.co ip4:54.208.111.29 ~all",
    "v=spf1 include:_spf.google.com ~all",
    "v=spf1 exp=explain.mxhero.com -all",  # exp= explains, it authorises nobody: left alone
])
def test_leaves_policies_without_mxhero_terms_alone(policy):
    result = rewrite(policy)
    assert not result.changed
    assert result.after == policy


def test_wide_network_is_reported_not_removed():
    result = rewrite("v=spf1 ip4:54.208.0.0/16 -all")
    assert not result.changed
    assert [t.raw for t, _ in result.reported] == ["ip4:54.208.0.0/16"]
    assert spf.SpfRewrite("v=spf1 ip4:54.208.0.0/16 -all", Fingerprint(match_cidrs=True)).changed


def test_unknown_modifiers_and_qualifiers_survive():
    policy = "v=spf1 -ip4:198.51.100.7 foo=bar include:smtp.mxhero.com ~ptr:x.example +all"
    assert rewrite(policy).after == "v=spf1 -ip4:198.51.100.7 foo=bar ~ptr:x.example +all"


def test_warns_when_nobody_is_authorised():
    result = rewrite("v=spf1 include:smtp.mxhero.com -all")
    assert result.after == "v=spf1 -all"
    assert any("authorises no sender" in w for w in result.warnings())
    assert rewrite("v=spf1 include:smtp.mxhero.com include:_spf.google.com -all").warnings() == []


def test_warns_when_redirect_removed_without_all():
    warnings = rewrite("v=spf1 ip4:192.0.2.1 redirect=_spf.mxhero.com").warnings()
    assert any("neutral" in w for w in warnings)


def test_not_spf_is_refused():
    assert not spf.is_spf("v=spf10 -all")
    assert not spf.is_spf("google-site-verification=abc")
    with pytest.raises(ValueError):
        spf.parse("MS=ms123")


def test_split_short_policy_is_one_string():
    assert spf.split_strings("v=spf1 -all") == [b"v=spf1 -all"]


def test_split_long_policy_packs_terms_under_255():
    policy = "v=spf1 " + " ".join("ip4:192.0.2.%d" % i for i in range(60)) + " ~all"
    chunks = spf.split_strings(policy)
    assert len(chunks) > 1
    assert all(len(c) <= 255 for c in chunks)
    assert b"".join(chunks).decode() == policy
    assert all(c.endswith(b" ") for c in chunks[:-1])  # split at term boundaries


def test_split_never_breaks_utf8():
    policy = "v=spf1 exp=" + "é" * 300
    chunks = spf.split_strings(policy)
    assert all(len(c) <= 255 for c in chunks)
    for chunk in chunks:
        chunk.decode("utf-8")  # raises if a character was cut
    assert b"".join(chunks).decode() == policy


# -- property tests ------------------------------------------------------------
_other_hosts = st.sampled_from(["_spf.google.com", "spf.protection.outlook.com", "notmxhero.com",
                                "mxhero.com.evil.example", "mxhero.co", "mail.example.org", "x.example"])
_mx_hosts = st.sampled_from(["smtp.mxhero.com", "spf.mxhero.com", "SMTP-IN.MXHERO.COM", "mxhero.com"])
_qual = st.sampled_from(["", "+", "-", "~", "?"])
_other_term = st.one_of(
    st.builds(lambda q, h: "%sinclude:%s" % (q, h), _qual, _other_hosts),
    st.builds(lambda q, h: "%sa:%s" % (q, h), _qual, _other_hosts),
    st.builds(lambda q, n: "%sip4:192.0.2.%d" % (q, n), _qual, st.integers(0, 255)),
    st.builds(lambda q, n: "%sip4:198.51.%d.0/24" % (q, n), _qual, st.integers(0, 255)),
    st.just("mx"), st.just("a"), st.just("ip6:2001:db8::/32"), st.just("exp=explain.example"),
)
_mx_term = st.one_of(
    st.builds(lambda q, h: "%sinclude:%s" % (q, h), _qual, _mx_hosts),
    st.builds(lambda q, h: "%sexists:%s" % (q, h), _qual, _mx_hosts),
    st.builds(lambda q, ip: "%sip4:%s" % (q, ip), _qual, st.sampled_from(DEFAULT_IPS)),
)
_all = st.sampled_from(["-all", "~all", "?all", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _other_term, _mx_term), min_size=0, max_size=40), _all)
def test_property_no_other_term_lost_and_output_parses(items, tail):
    terms, others = [], []
    for use_mx, other, mx in items:
        terms.append(mx if use_mx else other)
        if not use_mx:
            others.append(other)
    policy = " ".join(["v=spf1"] + terms + ([tail] if tail else []))
    result = rewrite(policy)
    expected = others + ([tail] if tail else [])
    assert [t.raw for t in spf.parse(result.after)] == expected  # order, qualifiers, every other term kept
    assert spf.is_spf(result.after)
    chunks = spf.split_strings(result.after)
    assert all(len(c) <= 255 for c in chunks)
    assert b"".join(chunks).decode() == result.after
    assert not rewrite(result.after).changed  # a second pass finds nothing
