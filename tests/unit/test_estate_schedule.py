"""Issue 21 (budgets): the estate engine spends every account's budget side by side. An estate file lists its
domains by provider or customer; run in that order, eight threads would all wait on one account's budget and
then on the next (300 Cloudflare domains, then 300 Route 53 ones: the sum of both accounts' times, not the
longer of them)."""

from __future__ import annotations

import yaml

from helpers import ROOT

from ansible_collections.mxhero.unroute.plugins.module_utils import _domain
from ansible_collections.mxhero.unroute.plugins.plugin_utils import _domain_run

DEFAULTS = yaml.safe_load((ROOT / "collections/mxhero/unroute/roles/unroute/defaults/main.yml").read_text())


def _job(domain, **given):
    variables = dict(DEFAULTS, unroute_domain=domain, unroute_dns_zone=domain, unroute_dns_customer_zones=[])
    variables.update(("unroute_" + k, v) for k, v in given.items())
    return _domain_run.prepare(_domain.DomainVars(variables))


def test_domains_of_different_accounts_alternate_and_each_accounts_order_is_kept():
    jobs = ([_job("cf%d.test" % i, dns_provider="cloudflare", dns_cloudflare_api_token="token-a") for i in range(3)]
            + [_job("r%d.test" % i, dns_provider="route53", dns_aws_access_key="AKIA1") for i in range(3)]
            + [_job("cfb.test", dns_provider="cloudflare", dns_cloudflare_api_token="token-b")])
    order = [j["entry"]["domain"] for j in _domain_run.interleaved(jobs)]
    assert order == ["cf0.test", "r0.test", "cfb.test", "cf1.test", "r1.test", "cf2.test", "r2.test"]
    # One account alone keeps the inventory's order (what the comparison of the two engines relies on).
    same = [_job("b%d.test" % i, dns_server="127.0.0.1") for i in range(4)]
    assert [j["entry"]["domain"] for j in _domain_run.interleaved(same)] == ["b0.test", "b1.test", "b2.test",
                                                                             "b3.test"]
    assert _domain_run.interleaved([]) == []
