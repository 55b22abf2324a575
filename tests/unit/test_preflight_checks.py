"""The preflight's decisions that need no service: statuses, how an answer becomes a check, what is matched."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._preflight import common, dns, google, mta, preflight
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import RunContext


def test_the_domain_status_is_the_most_serious_need_and_unproven_passes_stay_ready():
    checks = [common.check("dns", "z", "a", True, False, "not proven: x"),
              common.check("google", "s", "b", False, True, "no", "fix", "needs_delegation"),
              common.check("exchange", "h", "c", False, True, "no", "fix", "unreachable")]
    assert common.status_of(checks) == "unreachable"
    assert common.status_of(checks[:2]) == "needs_delegation"
    assert common.status_of(checks[:1]) == "ready"
    assert common.status_of([]) == "ready"


def test_an_error_maps_to_what_it_needs():
    assert common.classify("cannot reach 127.0.0.1:53 over tcp: Connection refused") == "unreachable"
    assert common.classify("127.0.0.1:53 refused us: the server does not know TSIG key 'x' (BADKEY)") \
        == "needs_credentials"
    assert common.classify("Cloudflare has no zone a.test that this API token can see") == "needs_role"
    assert common.classify("something nobody expected") == "unproven"
    item = common.failed("dns", "zone a.test", "credentials and zone",
                         UnrouteError("a.test", "zone a.test", "Azure refused access (HTTP 403 AuthorizationFailed)",
                                      "give the identity the DNS Zone Contributor role"))
    assert (item["ok"], item["status"]) == (False, "needs_role")
    assert item["fix"] == "give the identity the DNS Zone Contributor role"


def test_each_failed_check_is_one_line_with_domain_object_and_fix():
    item = common.check("dns", "zone a.test (cloudflare)", "write permission", False, True,
                        "the token has no DNS Write permission on zone a.test", "add Zone > DNS > Edit", "needs_role")
    assert common.line("a.test", item) == ("a.test: dns zone a.test (cloudflare): write permission: the token has no "
                                           "DNS Write permission on zone a.test; add Zone > DNS > Edit")


def test_cloudflare_policy_resources_cover_the_zone_by_id_all_zones_or_an_account():
    zone = "0123456789abcdef0123456789abcdef"
    assert dns._covers({"com.cloudflare.api.account.zone.%s" % zone: "*"}, zone)
    assert dns._covers({"com.cloudflare.api.account.zone.*": "*"}, zone)
    assert dns._covers({"com.cloudflare.api.account.f00": {"com.cloudflare.api.account.zone.*": "*"}}, zone)
    assert not dns._covers({"com.cloudflare.api.account.zone.%s" % ("0" * 32): "*"}, zone)
    assert not dns._covers({"com.cloudflare.api.user.1": "*"}, zone)


def test_azure_actions_match_with_wildcards_and_not_actions():
    contributor = [{"actions": ["Microsoft.Network/dnsZones/*"], "notActions": []}]
    reader = [{"actions": ["*/read"], "notActions": []}]
    carved = [{"actions": ["*"], "notActions": ["Microsoft.Network/dnszones/MX/*"]}]
    action = "Microsoft.Network/dnszones/MX/write"
    assert dns._azure_allows(contributor, action)
    assert not dns._azure_allows(reader, action)
    assert not dns._azure_allows(carved, action)
    assert dns._azure_allows(carved, "Microsoft.Network/dnszones/TXT/write")


def test_google_scopes_follow_the_modules_the_role_runs():
    both = google.scopes({"api": "policy"}, {"audit_log": True, "app_grants": True, "send_as": True})
    assert both[0] == "https://www.googleapis.com/auth/cloud-identity.policies"
    assert "https://www.googleapis.com/auth/gmail.settings.basic" in both and len(both) == len(set(both))
    bare = google.scopes({"api": "admin_settings"}, {"audit_log": False, "app_grants": False, "send_as": False})
    assert bare == ["https://apps-apis.google.com/a/feeds/domain/",
                    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly"]


def test_mail_server_answers_become_checks():
    out = mta.probe("a.test", [
        {"item": {"host": "mx1"}, "mta": "postfix", "config_dir": "/etc/postfix"},
        {"item": {"host": "mx2"}, "unreachable": True, "msg": "Failed to connect to the host via ssh: timed out"},
        {"item": {"host": "mx3"}, "failed": True, "msg": "Missing sudo password"},
        {"item": {"host": "mx4"}, "failed": True, "msg": "user is not in the sudoers file."},
        {"item": {"host": "mx5"}, "failed": True, "msg": "mx5: no Postfix, Exim or Sendmail found"}])
    assert [(c["object"], c["status"]) for c in out] == [
        ("mail server mx1", "ready"), ("mail server mx2", "unreachable"), ("mail server mx3", "needs_credentials"),
        ("mail server mx4", "needs_role"), ("mail server mx5", "unproven")]


def test_missing_options_are_a_credentials_need_and_no_secret_leaves():
    ctx = RunContext()
    out = preflight({"domain": "a.test", "platform": "microsoft365", "microsoft365": {"client_secret": "s3cr3t-value"},
                     "dns": None, "mta_results": []}, ctx)
    assert out["status"] == "needs_credentials"
    (item,) = out["checks"]
    assert item["check"] == "connection options" and "tenant_id" in item["detail"]
    assert "s3cr3t-value" in ctx.secrets and "s3cr3t-value" not in str(out)


class _Provider(object):
    """A Cloudflare provider that reads the zone and then cannot reach the token endpoints."""
    zone_id = "0" * 32

    def check_zone(self, zone):
        return None

    def read(self, name, rdtype):
        return None

    def call(self, method, path, what):
        raise UnrouteError("a.test", what, "cannot reach the Cloudflare API: connection refused", "check the URL")


def test_a_failed_permission_question_after_the_zone_was_read_leaves_it_unproven(monkeypatch):
    class Engine(object):
        provider = _Provider()

    monkeypatch.setattr(dns.dns_module, "run", lambda operation, params, ctx: operation(Engine, params, ctx))
    out = dns.probe("a.test", {"zone": "a.test", "provider": "cloudflare", "cloudflare_api_token": "t0k3n-value"},
                    RunContext())
    assert [(c["check"], c["ok"], c["proven"]) for c in out] == [("credentials and zone", True, True),
                                                                 ("write permission", True, False)]
    assert "connection refused" in out[1]["detail"]
