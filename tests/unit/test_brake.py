"""The estate brake's decision (module_utils/_brake.py), shared by the per-host path and the estate engine."""

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils import _brake
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import mail_zone
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import RRset


@pytest.mark.parametrize("limit, total, allowed", [
    (50, 80, 50), ("50", 80, 50), ("30%", 80, 24), (" 30 % ", 80, 24), ("33%", 10, 3), ("100%", 7, 7),
    (None, 80, _brake.DEFAULT_LIMIT), ("", 80, _brake.DEFAULT_LIMIT), (0, 5, 0),
])
def test_allowed(limit, total, allowed):
    assert _brake.allowed(limit, total) == allowed


@pytest.mark.parametrize("limit", ["lots", "-1", "101%", "2.5", True, "%"])
def test_bad_limits(limit):
    with pytest.raises(ValueError):
        _brake.parse_limit(limit)


def test_planning_pass_only_when_the_brake_can_be_exceeded():
    assert not _brake.needs_plan(50, 50)
    assert _brake.needs_plan(51, 50)
    assert not _brake.needs_plan(51, 50, force=True)
    assert not _brake.needs_plan(51, 50, reviewed=True)
    assert _brake.needs_plan(10, "30%")


def test_exceeded_stops_and_says_count_and_how_to_proceed():
    decision = _brake.check_brake(["c.test", "a.test", "b.test", "a.test"], 10, "20%")
    assert decision["count"] == 3 and decision["allowed"] == 2 and decision["stop"]
    assert decision["domains"] == ["a.test", "b.test", "c.test"]
    msg = decision["msg"]
    assert "would change 3 of 10 domains" in msg and "nothing was changed" in msg
    assert "unroute_plan=" in msg and "unroute_force=true" in msg and "\n" not in msg


def test_force_goes_ahead_and_says_so():
    decision = _brake.check_brake(["a", "b", "c"], 3, 1, force=True)
    assert decision["exceeded"] and not decision["stop"] and "unroute_force" in decision["msg"]


def test_within_the_limit():
    decision = _brake.check_brake(["a"], 3, 1)
    assert not decision["exceeded"] and not decision["stop"]


def _reader(zone_data):
    def read(name, rdtype):
        return RRset(name, rdtype, 3600, zone_data.get((name, rdtype), []))
    return read


def _policy(value):
    return value.strip('"')


def test_mail_zone_ok():
    read = _reader({("ex.test.", "MX"): ["10 mail.ex.test."], ("ex.test.", "TXT"): ['"v=spf1 mx -all"']})
    report = mail_zone.check(read, _policy, "ex.test", [])
    assert report["ok"] and report["names"] == ["ex.test."] and report["summary"].startswith("ok: ex.test")


@pytest.mark.parametrize("data, words", [
    ({("ex.test.", "TXT"): ['"v=spf1 mx -all"']}, "no MX record left"),
    ({("ex.test.", "MX"): ["10 m.ex.test."], ("ex.test.", "TXT"): ['"v=spf1 mx -all"', '"v=spf1 a -all"']},
     "2 SPF records"),
    ({("ex.test.", "MX"): ["10 m.ex.test."],
      ("ex.test.", "TXT"): ['"v=spf1 ' + " ".join("include:i%d.example" % i for i in range(11)) + ' -all"']},
     "11 DNS lookups"),
    ({("ex.test.", "MX"): ["0 .", "10 m.ex.test."]}, "null MX next to other MX"),
])
def test_mail_zone_problems(data, words):
    report = mail_zone.check(_reader(data), _policy, "ex.test", [])
    assert not report["ok"] and any(words in p for p in report["problems"]) and words in report["summary"]


def test_null_mx_only_if_it_was_there():
    read = _reader({("ex.test.", "MX"): ["0 ."]})
    assert mail_zone.check(read, _policy, "ex.test", [])["ok"]
    assert mail_zone.check(read, _policy, "ex.test", [], mx_before=["0 ."])["ok"]
    assert not mail_zone.check(read, _policy, "ex.test", [], mx_before=["10 smtp-in.mxhero.com."])["ok"]


def test_changed_names_are_checked_for_spf_only_missing_mx_below_the_apex_is_fine():
    read = _reader({("ex.test.", "MX"): ["10 m.ex.test."],
                    ("sub.ex.test.", "TXT"): ['"v=spf1 a -all"', '"v=spf1 mx -all"']})
    report = mail_zone.check(read, _policy, "ex.test", ["sub.ex.test."])
    assert report["names"] == ["ex.test.", "sub.ex.test."]
    assert report["problems"] == [p for p in report["problems"] if p.startswith("sub.ex.test.")] != []
