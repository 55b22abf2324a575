"""Issue 10 item 11: a failure that follows a change returns `partial` (what was already done), the same
way on every platform, so a half-applied change is never mistaken for nothing done."""

from __future__ import annotations

import pytest

from helpers import DEFAULT_ESTATE, run_module
from microsoft365_fixtures import by_name, exo_args, tenant, tenant_state

pytestmark = pytest.mark.lab

ROUTE = {"Name": "Route through mxHERO", "RouteMessageOutboundConnector": "mxHERO Outbound"}
MX_OUT = {"Name": "mxHERO Outbound", "SmartHosts": ["smtp.mxhero.com"], "IsTransportRuleScoped": True,
          "RecipientDomains": ["*"]}


def _google_args(lab, domain, **extra):
    v = lab.manifest["domains"][domain]["vars"]
    args = dict(domain=domain, credentials_file=v["unroute_google_service_account_file"],
                subject=v["unroute_google_subject"], api_endpoint=v["unroute_google_api_endpoint"],
                ca_path=v["unroute_google_ca_path"], mutable_setting_types=v["unroute_google_mutable_setting_types"])
    args.update(extra)
    return args


def test_google_on_manual_fail_after_a_removal_returns_partial(lab_factory):
    lab = lab_factory(DEFAULT_ESTATE)
    domain = "g-allowlist.test"
    result = run_module("google_gateway", _google_args(lab, domain, on_manual="fail"))
    assert result["failed"] and "manual action" in result["msg"]
    done = [f for f in result["findings"] if f["action"] == "changed"]
    assert done, result["findings"]
    assert result["partial"] == ["changed %s" % f["object"] for f in done]
    policies = lab.state()["google"]["customers"][domain]
    assert "54.208.111.28" not in str(policies), "the removal really happened, so partial must say so"


def test_exchange_online_failure_after_a_change_returns_partial(lab_factory):
    lab = lab_factory({"domains": [tenant("half.test", outbound_connectors=[MX_OUT], transport_rules=[ROUTE])]})
    # Rules go first and succeed; then every connector write fails for good.
    lab.fault("exo", kind="5xx", status=503, count=-1, tenant="half.test", cmdlet="Set-OutboundConnector")
    result = run_module("exo_connector", exo_args(lab, "half.test", direction="outbound"))
    assert result["failed"], result
    assert by_name(tenant_state(lab, "half.test")["transport_rules"])[ROUTE["Name"]]["State"] == "Disabled"
    assert result["partial"] == ["disabled rule '%s'" % ROUTE["Name"]]
    assert result["changed"] is True
