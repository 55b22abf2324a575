"""mta_relay writes only next hops Postfix can parse and resolve (issue 26 item 4), and its plan digest does not
depend on --diff (issue 22). Real Postfix (Debian package) in per-test instance directories."""

from __future__ import annotations

import socket

import pytest

from mta_fixtures import needs_postfix, play, postconf, postfix_instance, snapshot

pytestmark = needs_postfix


def estate(tmp_path, **main):
    settings = {"relayhost": "[smtp.mxhero.com]:25", "default_transport": "smtp:[smtp.mxhero.com]:25",
                "transport_maps": "hash:DIR/transport"}
    settings.update(main)
    return postfix_instance(tmp_path, main=dict((k, v) for k, v in settings.items() if v is not None),
                            tables={"transport": "example.com smtp:[smtp.mxhero.com]:25\n"
                                                 "partner.test smtp:[mx.partner.test]\n"})


def replaced(tmp_path, directory, replacement, name, check=False):
    return play(tmp_path, {"config_dir": str(directory), "state": "replaced", "replacement": replacement},
                check=check, name=name)


@pytest.mark.parametrize("replacement, cause", [
    ("[relay.isp.example]]:25", "has ']:25' after ']'"),
    ("[relay.isp.example]:25x", "port '25x'"),
    ("relay.isp.example]", "']' without '['"),
    ("192.0.2.25:587", "only in brackets ([192.0.2.25])"),
    ("[relay.isp.example], [backup.isp.example]", "one relay only"),
])
def test_malformed_replacement_is_refused_in_check_mode_and_real_runs(tmp_path, replacement, cause):
    directory = estate(tmp_path)
    before = snapshot(directory)
    for check in (True, False):
        result = replaced(tmp_path, directory, replacement, "check" if check else "run", check=check)
        assert result.get("failed") is True, result
        msg = result["msg"]
        assert msg.startswith("%s: replacement " % socket.gethostname()) and cause in msg and "\n" not in msg, msg
        assert "partial" not in result
    assert snapshot(directory) == before
    assert postconf(directory, "-h", "relayhost").strip() == "[smtp.mxhero.com]:25"


def test_replacement_that_does_not_resolve_is_undone_and_named(tmp_path):
    """Grammar alone cannot see it: Postfix takes the value, postfix check passes, only delivery would fail."""
    directory = estate(tmp_path)
    before = snapshot(directory)
    value = "[relay.unroute.invalid]:587"  # .invalid never resolves (RFC 6761)
    planned = replaced(tmp_path, directory, value, "check", check=True)
    assert not planned.get("failed") and planned["changed"] is True, planned
    assert any("relay.unroute.invalid does not resolve" in c for c in planned["cautions"]), planned["cautions"]

    result = replaced(tmp_path, directory, value, "run")
    assert result.get("failed") is True, result
    msg = result["msg"]
    assert msg.startswith("%s: replacement %s: " % (socket.gethostname(), value)), msg
    assert "\n" not in msg and "does not resolve" in msg, msg
    assert "every file was restored" in msg and "partial" not in result, result
    # Every file as it was, index files included, and no backup copies suggesting a change.
    assert snapshot(directory) == before
    assert postconf(directory, "-h", "relayhost").strip() == "[smtp.mxhero.com]:25"


def test_resolvable_name_and_address_pass_the_check_after_the_reload(tmp_path):
    for index, value in enumerate(["[localhost]:2525", "[127.0.0.3]:2525"]):
        directory = estate(tmp_path / str(index))
        result = replaced(tmp_path, directory, value, "run%d" % index)
        assert not result.get("failed") and result["changed"] is True, result
        assert postconf(directory, "-h", "relayhost").strip() == value
        assert postconf(directory, "-h", "default_transport").strip() == "smtp:" + value


def test_transport_nexthop_replacement_fits_transport_places_only(tmp_path):
    # relayhost takes a next hop: relay:[x] there is what Postfix would choke on at delivery time.
    directory = estate(tmp_path / "a")
    before = snapshot(directory)
    refused = replaced(tmp_path, directory, "relay:[127.0.0.3]:2525", "relayhost", check=True)
    assert refused.get("failed") and "relayhost takes a next hop only" in refused["msg"], refused
    assert "replacement relay:[127.0.0.3]:2525" in refused["msg"]
    # A transport master.cf does not define is refused too, naming master.cf.
    transports = estate(tmp_path / "b", relayhost=None)
    unknown = replaced(tmp_path, transports, "nosuch:[127.0.0.3]:2525", "unknown", check=True)
    assert unknown.get("failed") and "no unix service 'nosuch'" in unknown["msg"], unknown
    assert "master.cf" in unknown["msg"]
    assert snapshot(directory) == before

    done = replaced(tmp_path, transports, "relay:[127.0.0.3]:2525", "transport")
    assert not done.get("failed") and done["changed"] is True, done
    assert postconf(transports, "-h", "default_transport").strip() == "relay:[127.0.0.3]:2525"
    assert "relay:[127.0.0.3]:2525" in (transports / "transport").read_text()


def test_plan_digest_is_the_same_with_and_without_diff_mode(tmp_path):
    """Issue 22: an audit with --diff approves the digest a run without --diff recomputes (and back)."""
    directory = estate(tmp_path)
    with_diff = play(tmp_path, {"config_dir": str(directory)}, check=True, diff=True, name="diff")
    without = play(tmp_path, {"config_dir": str(directory)}, check=True, diff=False, name="nodiff")
    assert not with_diff.get("failed") and not without.get("failed")
    assert with_diff["changed"] is True and "diff" in with_diff and "diff" not in without
    assert with_diff["plan_digest"] == without["plan_digest"] != "0" * 64
    # The digest still follows the state read: another main.cf is another plan.
    postconf(directory, "-e", "smtp_fallback_relay=smtp.mxhero.com")
    changed = play(tmp_path, {"config_dir": str(directory)}, check=True, name="changed")
    assert changed["plan_digest"] != without["plan_digest"]
