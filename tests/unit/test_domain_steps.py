"""Issue 21 (1): a domain's steps are built once in Python (module_utils/_domain.py) for both engines, with the
role's rules for what is left out (`default(omit, true)`) and in which order the modules run."""

from __future__ import annotations

import yaml

from helpers import ROOT

from ansible_collections.mxhero.unroute.plugins.module_utils import _domain
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError

DEFAULTS = yaml.safe_load((ROOT / "collections/mxhero/unroute/roles/unroute/defaults/main.yml").read_text())


def _vars(**given):
    variables = dict(DEFAULTS, unroute_domain="example.test", unroute_dns_zone="example.test")
    variables.update(("unroute_" + k, v) for k, v in given.items())
    return _domain.DomainVars(variables)


def test_platform_steps_come_before_dns_and_keep_their_names_in_order():
    steps = _domain.domain_steps(_vars(platform="microsoft365", exo_client_id="app"))
    assert [s.name for s in steps] == ["exo_transport_rule", "exo_connector", "exo_info", "dns_mx", "dns_spf",
                                       "dns_dkim", "dns_mail_zone"]
    assert steps[-2].module == "dns_info" and steps[-2].params["checks"] == ["dkim"]
    assert steps[-1].module == "dns_info" and steps[-1].params["checks"] == ["mail_zone"]


def test_dns_steps_scan_the_zone_and_spf_follows_the_customers_zones_as_the_role_passes_them():
    steps = {s.name: s.params for s in _domain.domain_steps(_vars(dns_customer_zones=["a.test", "b.test"]))}
    assert steps["dns_mx"]["zone_scan"] is True and steps["dns_dkim"]["zone_scan"] is True
    assert steps["dns_spf"]["zone_scan"] is True and steps["dns_spf"]["customer_zones"] == ["a.test", "b.test"]
    steps = {s.name: s.params for s in _domain.domain_steps(_vars(dns_zone_scan=False, dns_customer_zones=[]))}
    assert steps["dns_mx"]["zone_scan"] is False and steps["dns_spf"]["customer_zones"] == []
    restore = _domain.restore_steps(_vars(dns_zone_scan=False), {"removed": [], "added": [], "findings": []})
    assert restore[0].name == "dns_restore" and restore[0].params["zone_scan"] is False


def test_the_mail_zone_check_runs_only_on_the_names_a_real_run_wrote():
    check = _domain.domain_steps(_vars(dns_customer_zones=[]))[-1].params
    planned = {"unroute_result_dns_mx": {"findings": [{"action": "would_remove", "before": {"record": "x.test"}}]}}
    assert check.complete(planned) is None
    written = {"unroute_result_dns_mx": {"findings": [{"action": "removed", "before": {"record": "x.test"}}]},
               "unroute_result_dns_spf": {"findings": [{"action": "added", "before": {"record": "x.test"}},
                                                       {"action": "removed", "before": {"record": "y.test"}}]}}
    assert check.complete(written)["mail_zone_names"] == ["x.test", "y.test"]
    off = _domain.domain_steps(_vars(dns_customer_zones=[], dns_check_mail_zone=False))[-1].params
    assert off.complete(written) is None


def test_dry_run_only_is_the_variable_or_the_group():
    assert _domain.dry_run_only(_vars()) is False
    assert _domain.dry_run_only(_vars(dry_run_only=True)) is True
    dv = _vars()
    dv.raw["group_names"] = ["unroute_dry_run_only"]
    assert _domain.dry_run_only(dv) is True


def test_empty_connection_options_are_left_out_and_only_the_chosen_providers_options_go_in():
    mx = _domain.domain_steps(_vars())[0].params
    assert "server" not in mx and "key_name" not in mx and "replacement" not in mx
    assert mx["records"] == ["example.test"] and mx["port"] == 53
    mx = _domain.domain_steps(_vars(dns_provider="route53", dns_aws_region="eu-west-1",
                                    dns_cloudflare_api_token="x"))[0].params
    assert mx["aws_region"] == "eu-west-1" and mx["private_zone"] is False
    assert "cloudflare_api_token" not in mx and "aws_access_key" not in mx


def test_a_certificate_wins_over_a_client_secret_and_google_falls_back_to_its_credentials_file():
    rule = _domain.domain_steps(_vars(platform="microsoft365", exo_client_id="app", exo_client_secret="s",
                                      exo_certificate_path="/c.pem"))[0].params
    assert rule["certificate_path"] == "/c.pem" and "client_secret" not in rule
    steps = _domain.domain_steps(_vars(platform="google", google_credentials_file="/k.json"))
    assert steps[0].params["credentials_file"] == "/k.json"
    # Grants and send-as route no mail: their failure does not stop DNS; send-as needs a service account.
    assert [(s.name, s.ignore_errors) for s in steps[:2]] == [("google_gateway", False), ("google_app_grants", True)]


def test_exchange_visits_every_transport_server_and_connectors_on_the_first():
    steps = _domain.domain_steps(_vars(platform="exchange", exchange_username="u", exchange_password="p",
                                       exchange_servers=[{"host": "a", "fqdn": "a.x"}, {"host": "b", "port": 5986}]))
    agents, connector = steps[0], steps[1]
    assert [p["host"] for p in agents.params] == ["a", "b"] and agents.params[1]["port"] == 5986
    assert connector.params["host"] == "a" and connector.params["kerberos_hostname_override"] == "a.x"


def test_a_missing_required_variable_is_the_domains_error_naming_the_variable():
    try:
        _domain.domain_steps(_vars(platform="microsoft365"))
    except UnrouteError as err:
        assert "example.test" in str(err) and "unroute_exo_client_id" in str(err)
    else:
        raise AssertionError("no error")


def test_mail_server_domains_stay_with_the_role():
    assert _domain.needs_mail_servers(_vars(platform="mta"))
    assert _domain.needs_mail_servers(_vars(platform="other", mta_hosts=[{"host": "m"}]))
    assert not _domain.needs_mail_servers(_vars(platform="other"))
