"""MX planning: only mxHero exchanges go; refusing to leave a domain with no MX; replacements."""

from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.mx import MxPlan, mx_value, parse_mx

FP = Fingerprint()


def test_removes_only_mxhero_exchanges():
    plan = MxPlan(["10 smtp-in.mxhero.com.", "20 mail.example.com.", "30 notmxhero.com."], FP)
    assert [v for v, _ in plan.remove] == ["10 smtp-in.mxhero.com."]
    assert plan.keep == ["20 mail.example.com.", "30 notmxhero.com."]
    assert plan.changed and not plan.leaves_no_mx


def test_sole_mxhero_mx_leaves_no_mx_without_replacement():
    plan = MxPlan(["10 smtp-in.mxhero.com."], FP)
    assert plan.leaves_no_mx
    plan = MxPlan(["10 smtp-in.mxhero.com."], FP, [{"preference": 1, "exchange": "smtp.google.com"}])
    assert not plan.leaves_no_mx
    assert plan.add == ["1 smtp.google.com."]


def test_replacement_only_with_a_removal_and_not_twice():
    assert MxPlan(["1 smtp.google.com."], FP, [{"preference": 1, "exchange": "smtp.google.com."}]).add == []
    plan = MxPlan(["10 smtp.mxhero.com.", "1 SMTP.GOOGLE.COM."], FP, [{"preference": 1, "exchange": "smtp.google.com"}])
    assert plan.add == []


def test_null_mx_is_not_mxhero():
    assert not MxPlan(["0 ."], FP).changed


def test_parse_and_format():
    assert parse_mx("10 Mail.Example.COM") == (10, "mail.example.com.")
    assert mx_value(5, "host.example") == "5 host.example."
