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


@pytest.mark.parametrize("value", ["", "relay..isp.test", "relay.isp.test:0", "relay.isp.test:smtp", "[relay", "a b"])
def test_replacement_that_is_not_host_port_is_refused(value):
    with pytest.raises(UnrouteError) as err:
        validate_replacement(value, FP, "mail1")
    assert "host[:port]" in str(err.value)


def test_replacement_forms_accepted():
    assert validate_replacement("[relay.isp.test]:587", FP, "m") == ("relay.isp.test", "587", True)
    assert validate_replacement("192.0.2.10", FP, "m") == ("192.0.2.10", None, False)
    # A look-alike is not mxHero's (label boundary).
    assert validate_replacement("notmxhero.com", FP, "m")[0] == "notmxhero.com"


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
    from ansible_collections.mxhero.unroute.plugins.module_utils._mta import engine

    directory = postfix_instance(tmp_path, main={"relayhost": "[smtp.mxhero.com]", "transport_maps": "hash:DIR/t"},
                                 tables={"t": "example.com smtp:[smtp.mxhero.com]\n"})
    seen = []
    real = _cmd.run

    def spy(argv, *args, **kwargs):
        seen.append(list(argv))
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(_cmd, "run", spy)
    result = engine.execute({"mta": "auto", "state": "absent", "config_dir": str(directory), "backup": True},
                            RunContext())
    assert result["changed"] is True
    tools = [argv for argv in seen if argv[0].rsplit("/", 1)[-1] in ("postconf", "postmap", "postfix")]
    assert {argv[0].rsplit("/", 1)[-1] for argv in tools} == {"postconf", "postmap", "postfix"}
    # Scratch copies (check mode's simulation) are addressed with -c too, never the default instance.
    assert all(argv[1] == "-c" for argv in tools), tools
    assert [argv for argv in tools if argv[2] == str(directory)]
