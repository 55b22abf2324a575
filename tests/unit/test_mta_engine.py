"""mta_relay engine pieces: relay spellings, replacement validation, table parsing, instance addressing."""

from __future__ import annotations

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import _cmd, detect, postfix
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.relay import split_nexthop, validate_replacement
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.sendmail import _split
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import RunContext

from mta_fixtures import needs_postfix, postfix_instance

FP = Fingerprint()


@pytest.mark.parametrize("text, expected", [
    ("[smtp.mxhero.com]:25", ("smtp.mxhero.com", "25", True)),
    ("smtp.mxhero.com:587", ("smtp.mxhero.com", "587", False)),
    ("[54.208.111.28]", ("54.208.111.28", None, True)),
    ("smtp.mxhero.com", ("smtp.mxhero.com", None, False)),
])
def test_split_nexthop(text, expected):
    assert split_nexthop(text) == expected


@pytest.mark.parametrize("value", ["[relay.mxhero.com]:25", "smtp.mxhero.com", "54.208.111.28:25"])
def test_replacement_that_is_mxhero_is_refused_in_one_line(value):
    with pytest.raises(UnrouteError) as err:
        validate_replacement(value, FP, "mail1")
    assert str(err.value).startswith("mail1: replacement ") and "mxHero" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value, cause", [
    ("", "is empty"),
    ("relay..isp.test", "empty label"),
    ("relay.isp.test:0", "port '0'"),
    ("relay.isp.test:smtp", "port 'smtp'"),
    ("[relay", "opens '['"),
    ("a b", "space"),
    # Issue 26 item 4: Postfix took this as typed and failed every delivery with 'garbage after "]"'.
    ("[relay.isp.example]]:25", "has ']:25' after ']'"),
    ("relay.isp.example]:25", "']' without '['"),
    ("[relay.isp.example]25", "has '25' after ']'"),
    ("[relay.isp.example]:", "no port"),
    ("[]:25", "nothing between"),
    ("2001:db8::1", "goes in brackets"),
    ("10.0.0", "numeric label"),
    ("[relay.isp.example],[backup.isp.example]", "one relay only"),
    ("smtp:[relay.isp.example]]", "after ']'"),
])
def test_replacement_outside_the_nexthop_grammar_is_refused_naming_the_value(value, cause):
    with pytest.raises(UnrouteError) as err:
        validate_replacement(value, FP, "mail1")
    msg = str(err.value)
    assert msg.startswith("mail1: replacement %r: " % value) and cause in msg, msg
    assert "[host]:port" in msg and "\n" not in msg


@pytest.mark.parametrize("value, relay, postfix, exim, sendmail", [
    ("[relay.isp.test]:587", ("relay.isp.test", "587", True, None), "[relay.isp.test]:587", "relay.isp.test::587",
     "[relay.isp.test]"),
    ("relay.isp.test:2525", ("relay.isp.test", "2525", False, None), "relay.isp.test:2525", "relay.isp.test::2525",
     "[relay.isp.test]"),
    ("[192.0.2.10]", ("192.0.2.10", None, True, None), "[192.0.2.10]", "192.0.2.10", "[192.0.2.10]"),
    ("relay.isp.test.", ("relay.isp.test", None, False, None), "relay.isp.test", "relay.isp.test",
     "[relay.isp.test]"),
    ("[2001:db8::1]:25", ("2001:db8::1", "25", True, None), "[2001:db8::1]:25", "[2001::db8::::1]::25",
     "[IPv6:2001:db8::1]"),
    ("[ipv6:2001:db8::1]", ("2001:db8::1", None, True, None), "[2001:db8::1]", "2001::db8::::1",
     "[IPv6:2001:db8::1]"),
    ("smtp:[relay.isp.test]:25", ("relay.isp.test", "25", True, "smtp"), "[relay.isp.test]:25", None, None),
    ("relay:relay.isp.test", ("relay.isp.test", None, False, "relay"), "relay.isp.test", None, None),
    # Exim takes an address as it is; Postfix only in brackets (refused by the Postfix engine, see below).
    ("192.0.2.10:2526", ("192.0.2.10", "2526", False, None), "192.0.2.10:2526", "192.0.2.10::2526",
     "[192.0.2.10]"),
    # A look-alike is not mxHero's (label boundary).
    ("notmxhero.com", ("notmxhero.com", None, False, None), "notmxhero.com", "notmxhero.com", "[notmxhero.com]"),
])
def test_replacement_forms_and_how_each_mta_writes_them(value, relay, postfix, exim, sendmail):
    from ansible_collections.mxhero.unroute.plugins.module_utils._mta import relay as rl

    parsed = validate_replacement(value, FP, "m")
    assert tuple(parsed) == relay
    assert rl.postfix_nexthop(parsed) == postfix
    if exim:
        assert rl.exim_host(parsed) == exim and rl.sendmail_host(parsed) == sendmail


@pytest.mark.parametrize("value, refused", [("192.0.2.10", True), ("192.0.2.10:25", True), ("[192.0.2.10]:25", False),
                                            ("relay.isp.test", False)])
def test_postfix_takes_an_address_only_in_brackets(value, refused):
    from ansible_collections.mxhero.unroute.plugins.module_utils._mta import relay as rl

    problem = rl.postfix_problem(validate_replacement(value, FP, "m"))
    assert bool(problem) is refused
    if refused:
        assert "[192.0.2.10]" in problem


def test_transport_replacement_is_refused_by_exim_and_sendmail(tmp_path):
    from ansible_collections.mxhero.unroute.plugins.module_utils._mta.exim import Exim
    from ansible_collections.mxhero.unroute.plugins.module_utils._mta.sendmail import Sendmail

    (tmp_path / "update-exim4.conf.conf").write_text("dc_smarthost='smtp.mxhero.com'\n")
    (tmp_path / "sendmail.mc").write_text("define(`SMART_HOST', `smtp.mxhero.com')dnl\n")
    relay = validate_replacement("smtp:[relay.isp.test]", FP, "mail1")
    for cls in (Exim, Sendmail):
        with pytest.raises(UnrouteError) as err:
            cls(host="mail1", config_dir=str(tmp_path), fingerprint=FP, replacement=relay, check_mode=True,
                backup=False)
        assert str(err.value).startswith("mail1: replacement smtp:[relay.isp.test]: transport:nexthop is Postfix")


def test_map_list_keeps_inline_tables_whole():
    assert postfix._tables("hash:/etc/postfix/transport, inline:{ a.test=smtp:[x], b.test=y } regexp:/r") == \
        ["hash:/etc/postfix/transport", "inline:{ a.test=smtp:[x], b.test=y }", "regexp:/r"]


def test_table_entries_join_continuation_lines_and_keep_comments():
    entries = postfix._entries("# c\nexample.com smtp:\n  [smtp.mxhero.com]\n\nother.test :[x]\n")
    assert [(e["key"], e["value"]) for e in entries] == [
        (None, None), ("example.com", "smtp: [smtp.mxhero.com]"), (None, None), ("other.test", ":[x]")]
    assert "".join(e["text"] for e in entries) == "# c\nexample.com smtp:\n  [smtp.mxhero.com]\n\nother.test :[x]\n"


@pytest.mark.parametrize("value, expected", [
    ("[smtp.mxhero.com]", ("", "smtp.mxhero.com")),
    ("relay:smtp.mxhero.com", ("relay:", "smtp.mxhero.com")),
    ("esmtp:[hub.example.com]", ("esmtp:", "hub.example.com")),
    ("local:postmaster", ("local:", "postmaster")),
])
def test_sendmail_values(value, expected):
    assert _split(value) == expected


def test_auto_detection_refuses_when_nothing_is_configured(tmp_path):
    with pytest.raises(UnrouteError) as err:
        detect.detect("mail1", str(tmp_path))
    assert "no Postfix, Exim or Sendmail configuration found" in str(err.value) and "set mta" in str(err.value)


def test_auto_detection_picks_the_running_mta_of_two(tmp_path, monkeypatch):
    (tmp_path / "sendmail.mc").write_text("")
    (tmp_path / "update-exim4.conf.conf").write_text("")
    monkeypatch.setattr(detect._service, "running", lambda pids: any("exim" in p for p in pids))
    assert detect.detect("mail1", str(tmp_path)) == "exim"
    monkeypatch.setattr(detect._service, "running", lambda pids: False)
    with pytest.raises(UnrouteError) as err:
        detect.detect("mail1", str(tmp_path))
    assert "exim, sendmail" in str(err.value)


@needs_postfix
def test_every_postfix_command_addresses_the_instance(tmp_path, monkeypatch):
    from ansible_collections.mxhero.unroute.plugins.modules import mta_relay

    directory = postfix_instance(tmp_path, main={"relayhost": "[smtp.mxhero.com]", "transport_maps": "hash:DIR/t"},
                                 tables={"t": "example.com smtp:[smtp.mxhero.com]\n"})
    seen = []
    real = _cmd.run

    def spy(argv, *args, **kwargs):
        seen.append(list(argv))
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(_cmd, "run", spy)
    result = mta_relay.execute({"mta": "auto", "state": "absent", "config_dir": str(directory), "backup": True},
                            RunContext())
    assert result["changed"] is True
    tools = [argv for argv in seen if argv[0].rsplit("/", 1)[-1] in ("postconf", "postmap", "postfix")]
    assert {argv[0].rsplit("/", 1)[-1] for argv in tools} == {"postconf", "postmap", "postfix"}
    # Scratch copies (check mode's simulation) are addressed with -c too, never the default instance.
    assert all(argv[1] == "-c" for argv in tools), tools
    assert [argv for argv in tools if argv[2] == str(directory)]


@pytest.mark.parametrize("mta, files", [
    ("exim", {"update-exim4.conf.conf": "dc_eximconfig_configtype='smarthost'\n"
                                        "dc_smarthost='smtp.mxhero.com::25:backup.isp.test'\n"}),
    ("sendmail", {"sendmail.mc": "define(`SMART_HOST', `[smtp.mxhero.com]')dnl\n",
                  "mailertable": "example.com esmtp:[smtp.mxhero.com]\n"}),
])
def test_plan_digest_does_not_depend_on_diff_mode(tmp_path, mta, files):
    """Issue 22: the engine returned the state read only in diff mode, so --diff changed the digest."""
    from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
    from ansible_collections.mxhero.unroute.plugins.modules import mta_relay

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    params = {"mta": mta, "state": "absent", "config_dir": str(tmp_path), "backup": True}
    with_diff = _runner.run(mta_relay.execute, params, check_mode=True, diff_mode=True)
    without = _runner.run(mta_relay.execute, params, check_mode=True, diff_mode=False)
    assert not with_diff.get("failed") and with_diff["changed"], with_diff
    assert "diff" in with_diff and "diff" not in without
    assert with_diff["plan_digest"] == without["plan_digest"] != "0" * 64
    # Same findings, other state read (a line mxHero is not on): another digest.
    first = sorted(files)[0]
    (tmp_path / first).write_text(files[first] + "# edited by the admin\n")
    assert _runner.run(mta_relay.execute, params, check_mode=True)["plan_digest"] != without["plan_digest"]
