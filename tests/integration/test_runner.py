"""The one module runner, driven the way plays drive it (through the action plugins): environment,
delegate_to, validation, no_log scrubbing, partial, unexpected exceptions, and parity with main()."""

from __future__ import annotations

import pytest

from helpers import dns_args, run_classic_module, run_module
from microsoft365_fixtures import exo_args

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError


def _google_args(lab, domain):
    v = lab.manifest["domains"][domain]["vars"]
    return dict(domain=domain, credentials_file=v["unroute_google_service_account_file"],
                subject=v["unroute_google_subject"], api_endpoint=v["unroute_google_api_endpoint"],
                ca_path=v["unroute_google_ca_path"])


def _exo_domain(lab):
    return sorted(lab.service("exo")["tenants"])[0]


def _tunnels(lab):
    return [r["target"] for r in lab.state()["proxy"]["requests"]]


def _port(url):
    return url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]


def test_environment_proxy_reaches_google_and_microsoft365(default_lab):
    proxy = {"HTTPS_PROXY": default_lab.service("proxy")["url"], "NO_PROXY": "", "no_proxy": ""}
    before = len(_tunnels(default_lab))
    google = run_module("google_info", _google_args(default_lab, "g-gateway.test"), environment=proxy)
    exo = run_module("exo_info", exo_args(default_lab, _exo_domain(default_lab)), environment=proxy)
    assert not google.get("failed"), google.get("msg")
    assert not exo.get("failed"), exo.get("msg")
    seen = _tunnels(default_lab)[before:]
    google_vars = default_lab.manifest["domains"]["g-gateway.test"]["vars"]
    exo_svc = default_lab.service("exo")
    for url in (google_vars["unroute_google_api_endpoint"], exo_svc["authority_host"], exo_svc["api_endpoint"]):
        assert any(t.endswith(":" + _port(url)) for t in seen), (url, seen)


def test_environment_is_put_back_after_the_task(default_lab, monkeypatch):
    import os
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    run_module("exo_info", exo_args(default_lab, _exo_domain(default_lab)),
               environment={"HTTPS_PROXY": default_lab.service("proxy")["url"]})
    assert "HTTPS_PROXY" not in os.environ


def test_without_environment_no_request_goes_through_the_proxy(default_lab, monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    before = len(_tunnels(default_lab))
    result = run_module("exo_info", exo_args(default_lab, _exo_domain(default_lab)))
    assert not result.get("failed"), result.get("msg")
    assert _tunnels(default_lab)[before:] == []


def test_delegate_to_another_host_is_refused_in_one_line(default_lab):
    args = dns_args(default_lab, "mx-partial.test")
    result = run_module("dns_info", args, delegate_to="bastion.example")
    assert result["failed"]
    assert result["msg"].startswith("mx-partial.test: mxhero.unroute.dns_info runs on the controller")
    assert "remove delegate_to" in result["msg"] and "\n" not in result["msg"]
    local = run_module("dns_info", args, delegate_to="localhost")
    assert not local.get("failed"), local.get("msg")


def test_validation_error_names_domain_and_never_echoes_a_secret(default_lab):
    args = dns_args(default_lab, "mx-partial.test", protocol="carrier-pigeon")
    result = run_module("dns_mx", args)
    assert result["failed"]
    assert result["msg"].startswith("mx-partial.test: mxhero.unroute.dns_mx: ")
    assert "protocol" in result["msg"] and "fix the task's options" in result["msg"]
    assert default_lab.tsig_secret not in str(result)


def test_constraints_hold_in_the_action_path(default_lab):
    args = exo_args(default_lab, _exo_domain(default_lab), client_secret="s3cr3t-value")
    result = run_module("exo_info", args)
    assert result["failed"]
    assert "mutually exclusive" in result["msg"]
    assert "s3cr3t-value" not in str(result)


def test_check_and_diff_mode_match_the_classic_module(default_lab):
    args = dns_args(default_lab, "mx-partial.test")
    via_action = run_module("dns_mx", args, check_mode=True, diff=True)
    via_main = run_classic_module("dns_mx", args, check_mode=True, diff=True)
    assert via_action["findings"] and via_action["findings"] == via_main["findings"]
    assert via_action["diff"] == via_main["diff"]
    assert via_action["changed"] is via_main["changed"] is True
    no_diff = run_module("dns_mx", args, check_mode=True)
    assert "diff" not in no_diff and no_diff["findings"] == via_action["findings"]


# -- the runner itself, with engines that misbehave on purpose -----------------------------------

def test_partial_lists_what_was_done_before_the_failure():
    def execute(params, ctx):
        ctx.done("disabled rule A")
        raise UnrouteError("acme.test", "rule B", "the service answered 500", "run again")

    result = _runner.run(execute, {"domain": "acme.test"})
    assert result["failed"] and result["changed"]
    assert result["partial"] == ["disabled rule A"]
    assert result["msg"] == "acme.test: rule B: the service answered 500; run again"


def test_a_module_failing_on_purpose_after_a_change_reports_partial():
    def execute(params, ctx):
        return {"changed": True, "failed": True, "msg": "acme.test: manual actions pending",
                "findings": [{"object": "policy p1", "action": "changed"}, {"object": "gateway", "action": "manual",
                                                                             "manual_steps": "clear it"}]}

    result = _runner.run(execute, {"domain": "acme.test"})
    assert result["failed"] and result["partial"] == ["changed policy p1"]
    assert result["warnings"][-1] == "acme.test: manual action needed - gateway: clear it"


def test_an_unexpected_exception_is_one_line_with_the_domain_and_no_secret():
    def execute(params, ctx):
        ctx.secret("tok-abcdef123")
        raise KeyError("tok-abcdef123 was not expected")

    result = _runner.run(execute, {"zone": "acme.test.", "key_secret": "hunter22"}, no_log_values=["hunter22"],
                         name="mxhero.unroute.dns_mx")
    assert result["failed"]
    assert result["msg"].startswith("acme.test: mxhero.unroute.dns_mx failed unexpectedly: KeyError")
    assert "tok-abcdef123" not in result["msg"] and "\n" not in result["msg"]
    assert "Traceback" not in str(result)


def test_secrets_are_scrubbed_from_every_part_of_the_result():
    def execute(params, ctx):
        ctx.warn("token tok-abcdef123 expires soon")
        return {"changed": False, "findings": [{"object": "x", "evidence": ["pw hunter22"], "action": "reported"}]}

    result = _runner.run(execute, {"domain": "acme.test"}, no_log_values=["hunter22"])
    assert "hunter22" not in str(result)
    assert "tok-abcdef123" in str(result)  # only declared secrets are scrubbed
    result = _runner.run(lambda p, ctx: (ctx.secret("tok-abcdef123"), execute(p, ctx))[1], {"domain": "acme.test"})
    assert "tok-abcdef123" not in str(result)


@pytest.mark.parametrize("mode", [True, False])
def test_warn_callback_reaches_cautions_and_warnings(mode):
    def execute(params, ctx):
        assert ctx.check_mode is mode
        ctx.warn("SPF now authorises nobody")
        return {"changed": False}

    result = _runner.run(execute, {"domain": "acme.test"}, check_mode=mode)
    assert result["cautions"] == ["SPF now authorises nobody"] == result["warnings"]
    assert result["findings"] == [] and result["removed"] == [] and result["added"] == []
