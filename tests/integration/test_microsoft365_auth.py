"""Authentication and authorisation refusals: the tenant and app are named, and the advice fits the cause
(issue 10, item 6). Every case also checks that nothing in the tenant changed."""

from __future__ import annotations

import uuid

import pytest

from helpers import run_module
from microsoft365_fixtures import exo_args, start_lab, stop_lab, tenant, tenant_state

pytestmark = pytest.mark.lab

MX_OUT = {"Name": "mxHERO Outbound", "SmartHosts": ["smtp.mxhero.com"]}
ROUTE = {"Name": "Route through mxHERO", "RouteMessageOutboundConnector": "mxHERO Outbound"}


def estate(name, **app):
    return tenant(name, outbound_connectors=[MX_OUT], transport_rules=[ROUTE], app=app)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    domains = [estate("ok.test"), estate("oldsecret.test", secret_expired=True),
               estate("oldcert.test", certificate_expired=True), estate("noconsent.test", manage_as_app=False),
               estate("norole.test", exchange_role=False), estate("expiring.test")]
    lab = start_lab(tmp_path_factory.mktemp("exo-auth"), domains)
    yield lab
    stop_lab(lab)


def refused(lab, domain, module="exo_transport_rule", credential="certificate", **extra):
    before = tenant_state(lab, domain)
    args = exo_args(lab, domain, credential=credential, **extra)
    result = run_module(module, args)
    assert result.get("failed"), result
    assert tenant_state(lab, domain) == before, "a refused run changed the tenant"
    msg = result["msg"]
    assert "\n" not in msg and "Traceback" not in msg
    head = "%s: tenant %s, app %s: " % (domain, args["tenant_id"], args["client_id"])
    assert msg.startswith(head), msg
    assert "outbound connectors:" not in msg, "the object is the tenant and app, not the first thing read"
    return msg


def test_wrong_client_secret_says_value_not_id(lab):
    args = exo_args(lab, "ok.test", credential="secret")
    msg = refused(lab, "ok.test", credential="secret", client_secret=args["client_secret"][:-3] + "zzz")
    assert "AADSTS7000215" in msg and "Value (not its Secret ID)" in msg
    assert args["client_secret"][:-3] not in msg


def test_expired_client_secret_says_create_a_new_one(lab):
    msg = refused(lab, "oldsecret.test", credential="secret")
    assert "AADSTS7000222" in msg and "client secret of app" in msg and "has expired" in msg
    assert "add a new client secret" in msg


def test_expired_certificate_says_upload_a_new_one(lab):
    msg = refused(lab, "oldcert.test")
    assert "AADSTS700027" in msg and "certificate of app" in msg and "has expired" in msg


def test_unknown_tenant_names_the_tenant_to_check(lab):
    wrong = str(uuid.uuid4())
    msg = refused(lab, "ok.test", tenant_id=wrong)
    assert "tenant_id %s is not a tenant at" % wrong in msg and "Directory (tenant) ID" in msg


def test_unknown_app_names_the_client_id(lab):
    wrong = str(uuid.uuid4())
    msg = refused(lab, "ok.test", client_id=wrong)
    assert "AADSTS700016" in msg and "app %s is not an enabled application" % wrong in msg


def test_app_without_exchange_manageasapp_is_told_to_grant_it(lab):
    msg = refused(lab, "noconsent.test", module="exo_connector")
    assert "403" in msg and "grant app" in msg and "Exchange.ManageAsApp" in msg and "admin consent" in msg
    assert "Exchange Administrator" not in msg


def test_app_without_an_exchange_role_is_told_to_assign_one(lab):
    msg = refused(lab, "norole.test", module="exo_info")
    assert "403" in msg and "Exchange Administrator" in msg and "Roles and administrators" in msg


def test_tokens_always_expired_do_not_blame_the_certificate(lab):
    lab.fault("exo", kind="expired_token", count=-1, tenant="expiring.test")
    try:
        msg = refused(lab, "expiring.test")
    finally:
        lab.clear_faults("exo")
    assert "401" in msg and "expired" in msg and "same cloud" in msg
    assert "certificate" not in msg.split("; ", 1)[1]
