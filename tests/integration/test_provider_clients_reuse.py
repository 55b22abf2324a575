"""Issue 21 (budgets: "tokens are fetched once per tenant/app and reused; HTTP connections are pooled"): the
cloud DNS providers keep one credential and client per account for the process (the estate engine runs every
domain's modules in one), and Azure lists a subscription's zones once, not on every module call - without
ever calling a zone missing from a listing that is no longer fresh."""

from __future__ import annotations

import pytest

from helpers import provider_args, run_module
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import azure, google_cloud_dns, route53
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.module import build_engine
from ansible_collections.mxhero.unroute.plugins.modules import dns_info

pytestmark = pytest.mark.lab

RECORDS = ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.example.net."]
ESTATE = {"domains": [{"name": "%s.%s.test" % (n, p.replace("_", "-")), "platform": "other",
                       "dns": {"provider": p, "records": RECORDS}}
                      for p in ("azure", "google_cloud_dns", "route53") for n in ("one", "two")]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from unroute_lab import cli as lab_cli
    from unroute_lab.manifest import Lab
    import yaml
    directory = tmp_path_factory.mktemp("reuse-lab")
    (directory / "estate.yml").write_text(yaml.safe_dump(ESTATE))
    lab_cli.up(str(directory / "estate.yml"), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def test_azure_lists_the_subscription_once_and_lists_again_before_calling_a_zone_missing(lab, monkeypatch):
    azure._LISTINGS.clear()
    listed = []
    for zone in ("one.azure.test", "two.azure.test"):
        result = run_module("dns_info", provider_args(lab, zone, checks=["mx"]))
        assert not result.get("failed"), result
    provider_a = _provider(lab, "one.azure.test")
    provider_b = _provider(lab, "two.azure.test")
    assert provider_a.client is provider_b.client and provider_a.credential is provider_b.credential
    operations = type(provider_a.client.zones)
    real = operations.list

    def counting(self, *args, **kwargs):
        listed.append(1)
        return real(self, *args, **kwargs)
    monkeypatch.setattr(operations, "list", counting)
    for zone in ("one.azure.test", "two.azure.test"):
        assert not run_module("dns_info", provider_args(lab, zone, checks=["mx"])).get("failed")
    assert listed == [], "the kept listing was not used"
    missing = run_module("dns_info", dict(provider_args(lab, "one.azure.test", checks=["mx"]), zone="three.azure.test"))
    assert missing.get("failed") and "no zone three.azure.test" in missing["msg"], missing
    assert len(listed) == 1, "a zone missing from the kept listing must be listed again first"


def test_cloud_dns_and_route53_keep_one_credential_and_client_per_account(lab):
    one, two = _provider(lab, "one.google-cloud-dns.test"), _provider(lab, "two.google-cloud-dns.test")
    assert one.service._http.credentials is two.service._http.credentials
    assert len(google_cloud_dns._CREDENTIALS) >= 1
    one, two = _provider(lab, "one.route53.test"), _provider(lab, "two.route53.test")
    assert one.client is two.client and len(route53._CLIENTS) >= 1


def _provider(lab, zone):
    validated = dns_info.ARGSPEC.validate(provider_args(lab, zone))
    assert not validated.error_messages, validated.error_messages
    return build_engine(validated.validated_parameters, read_only=True).provider
