"""The lab enforces the vendors' rate limits set in the estate file (``budgets:``), answering as each vendor
documents it, and the collection's budgets keep a run inside them (module_utils/_budget.py).

Wire answers checked here, from the vendors' pages:
- Cloudflare (API rate limits): over 1,200 per 5 minutes per token, "all API calls for the next five minutes
  will be blocked, receiving a HTTP 429 response"; ``retry-after`` is "the number of seconds, rounded up".
- Route 53 (Throttling for Amazon Route 53 API requests): HTTP 400, Code ``Throttling``, Message ``Rate exceeded``.
- Azure Resource Manager (request limits and throttling): 429 Too many requests with a Retry-After value, and
  ``x-ms-ratelimit-remaining-subscription-reads``/``-writes`` on answers.
- Google Cloud DNS (Google APIs' standard error model): 429 with reason ``rateLimitExceeded``.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from helpers import provider_args
from provider_writers import _azure, _cloud_dns
from unroute_lab import cli as lab_cli
from unroute_lab.manifest import Lab

pytestmark = pytest.mark.lab

BASE = ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "mail 3600 IN A 192.0.2.1"]
ZONES = {"budget.cf.test": "cloudflare", "budget.r53.test": "route53", "budget.azure.test": "azure",
         "budget.gcd.test": "google_cloud_dns"}
BUDGETS = {"cloudflare": {"rate": 4, "per": 2, "block": 3}, "route53": {"rate": 4, "per": 1},
           "azure": {"rate": 4, "per": 1, "writes": {"rate": 2, "per": 1}}, "google_cloud_dns": {"rate": 4, "per": 1}}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("budget-lab")
    domains = [{"name": name, "dns": {"provider": provider, "records": BASE}} for name, provider in ZONES.items()]
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump({"domains": domains, "budgets": BUDGETS}))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def at_once(call, n=10):
    """``call()`` n times at once (a loaded machine answers slower than a bucket refills): the results, an
    exception standing for a call that raised."""
    def one(_):
        try:
            return call()
        except Exception as err:  # noqa: B902 - the test looks at what was raised
            return err
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.fixture(autouse=True)
def budget_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("UNROUTE_BUDGET_DIR", str(tmp_path / "budgets"))


def test_cloudflare_answers_429_and_blocks_the_token_for_the_block_window(lab):
    svc = lab.service("cloudflare")
    token = Path(svc["api_token_file"]).with_name("api-token-read").read_text().strip()
    headers = {"Authorization": "Bearer " + token}
    answers = at_once(lambda: requests.get(svc["url"] + "/zones", headers=headers, timeout=10))
    assert sorted(a.status_code for a in answers)[:4] == [200] * 4
    refused = [a for a in answers if a.status_code == 429][0]
    body = refused.json()
    assert body["success"] is False and body["errors"][0]["code"] == 971 and body["result"] is None
    assert int(refused.headers["Retry-After"]) >= 1
    # Blocked: even after a refill's worth of time the token stays refused until the block ends.
    time.sleep(1.0)
    assert requests.get(svc["url"] + "/zones", headers=headers, timeout=5).status_code == 429
    time.sleep(3.2)
    assert requests.get(svc["url"] + "/zones", headers=headers, timeout=5).status_code == 200


def test_route53_answers_throttling_rate_exceeded(lab):
    import boto3
    import botocore.config
    import botocore.exceptions
    svc = lab.service("route53")
    session = boto3.session.Session(aws_access_key_id=svc["aws_access_key_id"],
                                    aws_secret_access_key=Path(svc["secret_key_file"]).read_text().strip())
    client = session.client("route53", region_name="us-east-1", endpoint_url=svc["url"],
                            config=botocore.config.Config(retries={"total_max_attempts": 1}))
    errors = [r.response for r in at_once(client.list_hosted_zones) if isinstance(r, botocore.exceptions.ClientError)]
    assert errors, "ten calls at once went through a budget of 4"
    first = errors[0]
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (first["Error"]["Code"], first["Error"]["Message"]) == ("Throttling", "Rate exceeded")
    time.sleep(1.2)  # a token bucket refills: no block beyond it
    client.list_hosted_zones()


def test_azure_answers_429_with_retry_after_and_remaining_headers(lab):
    from azure.core.exceptions import HttpResponseError
    svc = lab.service("azure")
    client = _azure(svc)
    refused = [r for r in at_once(lambda: list(client.zones.list(retry_total=0))) if isinstance(r, HttpResponseError)]
    refused = refused[0] if refused else None
    assert refused is not None and refused.status_code == 429
    assert int(refused.response.headers["Retry-After"]) >= 1
    assert "x-ms-ratelimit-remaining-subscription-reads" in refused.response.headers
    assert json.loads(refused.response.text())["error"]["code"] == "TooManyRequests"
    time.sleep(1.5)


def test_cloud_dns_answers_429_rate_limit_exceeded(lab):
    from googleapiclient.errors import HttpError
    svc = lab.service("google_cloud_dns")
    # One client per call: httplib2 connections are not to be shared between threads.
    refused = [r for r in at_once(lambda: _cloud_dns(svc).managedZones().list(project=svc["project"]).execute(
        num_retries=0)) if isinstance(r, HttpError)]
    refused = refused[0] if refused else None
    assert refused is not None and int(refused.resp.status) == 429
    error = json.loads(refused.content)["error"]
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    time.sleep(1.5)


@pytest.mark.parametrize("zone", sorted(ZONES))
def test_a_run_inside_the_budget_finishes_with_no_throttling(lab, zone, monkeypatch):
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
    provider_kind = ZONES[zone]
    lab_budget = BUDGETS[provider_kind]
    # The collection told the account's budget (a little under the lab's, as one would under a vendor's).
    mine = {provider_kind: {"rate": lab_budget["rate"] * 0.9, "per": lab_budget["per"], "burst": 3}}
    monkeypatch.setenv("UNROUTE_BUDGETS", json.dumps(mine))
    time.sleep(lab_budget["per"] * 1.1)  # what an earlier test spent has refilled
    params = dns_module.ARGSPEC.validate(provider_args(lab, zone)).validated_parameters
    provider = dns_module.build_engine(params).provider
    budget = provider.spending()
    assert budget is not None
    start = time.monotonic()
    for _ in range(12):
        assert provider.read(zone + ".", "MX").values
    elapsed = time.monotonic() - start
    assert budget.penalties == 0
    # At least the first call looks the zone up too: 13 or more requests, 3 at once, then the rate.
    rate = mine[provider_kind]["rate"] / float(lab_budget["per"])
    assert elapsed >= (13 - 3) / rate * 0.95


@pytest.fixture(scope="module")
def exo_lab(tmp_path_factory):
    from microsoft365_fixtures import tenant
    directory = tmp_path_factory.mktemp("budget-exo-lab")
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump({"domains": [tenant("budget-m365.test")],
                                    "budgets": {"exo": {"rate": 3, "per": 1}}}))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def _exo_client(lab, **extra):
    from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import ExoClient
    from microsoft365_fixtures import exo_args
    args = exo_args(lab, "budget-m365.test")
    return ExoClient(args["tenant_id"], args["client_id"], certificate_path=args["certificate_path"],
                     authority_host=args["authority_host"], api_endpoint=args["api_endpoint"], ca_path=args["ca_path"],
                     **extra)


def test_exchange_online_answers_429_with_retry_after_per_tenant(exo_lab):
    client = _exo_client(exo_lab)
    token = client._access_token()
    headers = client._headers(token)
    body = {"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}}
    answers = at_once(lambda: requests.post(client.url, json=body, headers=headers,
                                            verify=exo_lab.service("exo")["ca"], timeout=10))
    refused = [a for a in answers if a.status_code != 200]
    assert refused and refused[0].status_code == 429
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert refused[0].json()["error"]["code"] == "TooManyRequests"
    time.sleep(1.5)


def test_an_exchange_online_run_inside_the_budget_meets_no_throttling(exo_lab, monkeypatch):
    monkeypatch.setenv("UNROUTE_BUDGETS", json.dumps({"exo": {"rate": 2.7, "per": 1, "burst": 2}}))
    time.sleep(1.2)
    client = _exo_client(exo_lab)
    start = time.monotonic()
    for _ in range(8):
        client.invoke("Get-InboundConnector")
    assert client.spending().penalties == 0
    assert time.monotonic() - start >= (8 - 2) / 2.7 * 0.95


@pytest.fixture(scope="module")
def google_lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("budget-google-lab")
    path = directory / "estate.yml"
    domains = [{"name": "budget-g.test", "platform": "google", "dns": {"records": ["@ 3600 IN MX 1 smtp.google.com."]},
                "google": {"policies": []}}]
    path.write_text(yaml.safe_dump({"domains": domains, "budgets": {"google": {"rate": 3, "per": 1}}}))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def _google_client(lab, scopes):
    from ansible_collections.mxhero.unroute.plugins.module_utils._google.client import GoogleClient
    v = lab.manifest["domains"]["budget-g.test"]["vars"]
    return GoogleClient("budget-g.test", credentials_file=v["unroute_google_service_account_file"],
                        subject=v["unroute_google_subject"], scopes=scopes, api_endpoint=v["unroute_google_api_endpoint"],
                        ca_file=v["unroute_google_ca_path"])


def test_google_answers_429_rate_limit_exceeded_per_project(google_lab):
    client = _google_client(google_lab, ["https://www.googleapis.com/auth/admin.directory.orgunit.readonly"])
    token = client.credentials().token
    v = google_lab.manifest["domains"]["budget-g.test"]["vars"]
    url = v["unroute_google_api_endpoint"].rstrip("/") + "/admin/directory/v1/customer/my_customer/orgunits"
    answers = at_once(lambda: requests.get(url, headers={"Authorization": "Bearer " + token},
                                           verify=v["unroute_google_ca_path"], timeout=10))
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert refused[0].json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    time.sleep(1.5)


def test_a_google_run_inside_the_budget_meets_no_throttling(google_lab, monkeypatch):
    monkeypatch.setenv("UNROUTE_BUDGETS", json.dumps({"google": {"rate": 2.7, "per": 1, "burst": 2}}))
    time.sleep(1.2)
    client = _google_client(google_lab, ["https://www.googleapis.com/auth/admin.directory.orgunit.readonly"])
    start = time.monotonic()
    for _ in range(7):
        client.list_org_units("my_customer")
    assert client.spending().penalties == 0
    assert time.monotonic() - start >= (7 - 2) / 2.7 * 0.95


def test_the_lab_inventory_tells_the_collection_each_vendors_limit(lab):
    inventory = yaml.safe_load((Path(lab.dir) / "inventory.yml").read_text())
    told = inventory["all"]["vars"]["unroute_budgets"]
    assert told["cloudflare"] == BUDGETS["cloudflare"] and told["route53"] == BUDGETS["route53"]
    # A vendor the estate sets no budget for enforces none: the collection is told it has room.
    assert told["exo"]["rate"] >= 100000
