"""Issue 26 (1) and issue 23: exo_restore only undoes what the run did. An edited run record is refused whole
(one line, nothing written); an inbound connector Microsoft holds disabled comes back as a manual step that says
why and what to ask for."""

from __future__ import annotations

import copy

import pytest

from helpers import run_module
from microsoft365_fixtures import by_name, exo_args, start_lab, stop_lab, tenant, tenant_state

pytestmark = pytest.mark.lab

MX_OUT = {"Name": "mxHERO Outbound", "SmartHosts": ["smtp.mxhero.com"], "IsTransportRuleScoped": True,
          "RecipientDomains": ["*"]}
OLD_OUT = {"Name": "mxHERO old relay", "SmartHosts": ["smtp-relay.mxhero.com"], "Enabled": False}
MX_IN = {"Name": "mxHERO Inbound", "SenderDomains": ["*"], "SenderIPAddresses": ["54.208.111.28"]}
HYBRID_IN = {"Name": "mxHERO hybrid inbound", "ConnectorType": "OnPremises", "SenderDomains": ["*"],
             "SenderIPAddresses": ["54.236.184.32"]}
ROUTE = {"Name": "Route through mxHERO", "RouteMessageOutboundConnector": "mxHERO Outbound"}
CUSTOMER_OFF = {"Name": "Customer rule kept off", "State": "Disabled", "SentToScope": "NotInOrganization",
                "SetSCL": 5}
_VOLATILE = ("WhenChanged",)


def _tenant(name):
    return tenant(name, outbound_connectors=[MX_OUT, OLD_OUT], inbound_connectors=[MX_IN, HYBRID_IN],
                  transport_rules=[ROUTE, CUSTOMER_OFF], connection_filter_ip_allow_list=["54.208.111.28",
                                                                                         "192.0.2.44"])


@pytest.fixture(scope="module")
def exo_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory.mktemp("exo-restore"), [_tenant("tamper.test"), _tenant("held.test")])
    yield lab
    stop_lab(lab)


def _state(lab, domain):
    def clean(items):
        # A multi-valued property is a set to Exchange: its order carries no meaning.
        return sorted(({k: sorted(v) if isinstance(v, list) else v for k, v in i.items() if k not in _VOLATILE}
                       for i in items), key=lambda i: i["Name"])
    t = tenant_state(lab, domain)
    return {k: clean(t[k]) for k in ("transport_rules", "outbound_connectors", "inbound_connectors",
                                     "connection_filter")}


def _run(lab, domain):
    args = exo_args(lab, domain)
    rules = run_module("exo_transport_rule", args)
    conns = run_module("exo_connector", args)
    assert not rules.get("failed") and not conns.get("failed"), (rules.get("msg"), conns.get("msg"))
    return rules["findings"] + conns["findings"]


def _edit(findings, obj, **changes):
    out = copy.deepcopy(findings)
    item = next(f for f in out if f["object"] == obj)
    for key, value in changes.items():
        item[key] = value
    return out


def test_exo_restore_refuses_an_edited_record_and_writes_nothing(exo_lab):
    lab, domain = exo_lab, "tamper.test"
    before_run = _state(lab, domain)
    findings = _run(lab, domain)
    assert by_name(tenant_state(lab, domain)["outbound_connectors"])[OLD_OUT["Name"]]["Enabled"] is False
    kept = next(f for f in findings if f["object"] == OLD_OUT["Name"])
    assert kept["action"] == "kept"
    left = _state(lab, domain)
    forged_rule = {"platform": "microsoft365", "kind": "transport_rule", "object": CUSTOMER_OFF["Name"],
                   "evidence": ["routes through connector 'mxHERO Outbound'"], "action": "disabled",
                   "before": {"Name": CUSTOMER_OFF["Name"], "State": "Enabled"}, "after": {"State": "Disabled"}}
    allow = next(f for f in findings if f["kind"] == "connection_filter_allow_ip")
    foreign_ip = _edit(findings, allow["object"], object="Default: 192.0.2.99",
                       before={"Identity": "Default", "IPAllowList": ["192.0.2.99", "192.0.2.44"]},
                       after={"Identity": "Default", "IPAllowList": ["192.0.2.44"]})
    tampered = {
        # The case: the record says the run disabled a connector that was off before the run.
        "kept_called_disabled": _edit(findings, OLD_OUT["Name"], action="disabled"),
        # A customer's rule, disabled on purpose, named in the record as one the run disabled.
        "customer_rule": findings + [forged_rule],
        "foreign_allow_entry": foreign_ip,
    }
    for label, record in tampered.items():
        for check_mode in (True, False):
            result = run_module("exo_restore", exo_args(lab, domain, findings=record), check_mode=check_mode,
                                diff=True)
            assert result.get("failed"), (label, check_mode, result)
            assert "the run record is refused" in result["msg"] and "\n" not in result["msg"], result["msg"]
            assert _state(lab, domain) == left, (label, check_mode, "a refused record wrote something")

    planned = run_module("exo_restore", exo_args(lab, domain, findings=findings), check_mode=True, diff=True)
    done = run_module("exo_restore", exo_args(lab, domain, findings=findings), diff=True)
    assert not done.get("failed"), done.get("msg")
    as_done = {"would_enable": "enabled", "would_add": "added"}
    assert [(f["object"], as_done.get(f["action"], f["action"])) for f in planned["findings"]] == \
        [(f["object"], f["action"]) for f in done["findings"]]
    assert _state(lab, domain) == before_run, "the genuine record puts everything back, and only that"
    again = run_module("exo_restore", exo_args(lab, domain, findings=findings))
    assert again["changed"] is False


def test_inbound_connector_held_disabled_by_microsoft_is_a_manual_step(exo_lab):
    """Issue 23: in tenants created after 2023 Exchange Online keeps an inbound connector off until Support allows
    it; the restore says so and what to ask for, instead of reporting it enabled or blaming replication."""
    lab, domain = exo_lab, "held.test"
    findings = _run(lab, domain)
    lab.fault("exo", kind="inbound_hold", tenant=domain, count=-1)
    planned = run_module("exo_restore", exo_args(lab, domain, findings=findings), check_mode=True)
    inbound = [f for f in planned["findings"] if f["kind"] == "inbound_connector"]
    assert inbound and all("Contact" in f["why"] or "service request" in f["why"] for f in inbound)
    done = run_module("exo_restore", exo_args(lab, domain, findings=findings))
    assert not done.get("failed"), done.get("msg")
    found = {f["object"]: f for f in done["findings"]}
    held = found[HYBRID_IN["Name"]]
    assert held["action"] == "manual"
    assert "service request" in held["manual_steps"] and HYBRID_IN["Name"] in held["manual_steps"]
    assert any("Contact Support" in e for e in held["evidence"])
    assert any(HYBRID_IN["Name"] in w and "stays disabled" in w for w in done["warnings"])
    assert found[MX_IN["Name"]]["action"] == "enabled", "a Partner connector is not held"
    conns = by_name(tenant_state(lab, domain)["inbound_connectors"])
    assert conns[HYBRID_IN["Name"]]["Enabled"] is False and conns[MX_IN["Name"]]["Enabled"] is True
