"""The lab's emulators answer as the services they stand for (issue 23, item 3), each case taken from the
vendor's public reference or a public capture of the real answer, then the collection against them.

- Cloudflare API v4 refuses a record identical to one the zone holds: HTTP 400, error code 81058 "An
  identical record already exists." (captured in public client logs, e.g. jeessy2/ddns-go#1378; older
  answers carry 81057), also inside a batch, which then applies nothing.
- Azure DNS (REST reference, api-version 2018-05-01, and its published examples): a zone holds the SOA and
  apex NS record sets from its creation (CreateOrUpdateZone: numberOfRecordSets 2; GetSOARecordset);
  RecordSets_ListByDnsZone (``/recordsets``), RecordSets_ListAllByDnsZone (``/all``) and RecordSets_ListByType
  (``/{recordType}``, the RecordType enum) take ``$top`` and ``$recordsetnamesuffix`` and page with
  ``nextLink``; a resource type Resource Manager does not know answers 404 InvalidResourceType in the
  ``{"error": {"code", "message"}}`` envelope (as captured in Azure/azure-rest-api-specs#14807); zone names are
  case-insensitive and come back in lower case (hashicorp/terraform-provider-azurerm#2077, Azure/azure-cli#7907).
- Admin SDK Reports API activities.list: a report covers the last 180 days at most (the admin activity
  report guide), an older ``startTime`` is refused with 400 (google-api-python-client#148 shows the
  answer); ``userKey`` is a path parameter, an email address sent percent-encoded (``admin%40example.com``).
"""

from __future__ import annotations

import datetime
import urllib.parse
from pathlib import Path

import pytest
import requests
import yaml

from helpers import provider_args, run_module
from unroute_lab import cli as lab_cli
from unroute_lab.manifest import Lab

pytestmark = pytest.mark.lab

AUDIT_RO = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
API = "api-version=2018-05-01"


def _domain(name, provider, records):
    return {"name": name, "dns": {"provider": provider, "records": [r.replace("{z}", name) for r in records]}}


ESTATE = {"domains": [
    _domain("dup.cloudflare.test", "cloudflare", ["@ 3600 IN MX 10 mail.{z}.", "@ 3600 IN MX 20 backup.{z}.",
                                                  '@ 3600 IN TXT "v=spf1 include:_spf.google.com ~all"']),
    _domain("race.cloudflare.test", "cloudflare", ["@ 3600 IN MX 10 smtp-in.mxhero.com."]),
    _domain("sets.azure.test", "azure", ["@ 3600 IN MX 10 mail.{z}.", '@ 3600 IN TXT "v=spf1 -all"',
                                         "a.sub 3600 IN A 192.0.2.1", "b.sub 3600 IN A 192.0.2.2",
                                         "www 3600 IN A 192.0.2.3", "mail 3600 IN A 192.0.2.4"]),
    _domain("upper.azure.test", "azure", ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}."]),
    _domain("grouped.azure.test", "azure", ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}."]),
    {"name": "reports.test", "platform": "google", "dns": {"records": ["@ 3600 IN MX 1 smtp.google.com."]},
     "google": {"directory_users": ["ops@reports.test"], "audit_events": [
         {"name": "CHANGE_EMAIL_SETTING", "days_ago": 10, "actor": "ops@reports.test",
          "parameters": {"SETTING_NAME": "OUTBOUND_GATEWAY", "OLD_VALUE": "", "NEW_VALUE": "gmail-out.mxhero.com"}},
         {"name": "CHANGE_EMAIL_SETTING", "days_ago": 20,
          "parameters": {"SETTING_NAME": "SPAM_LEVEL", "OLD_VALUE": "1", "NEW_VALUE": "2"}}]}},
]}
ESTATE["domains"][4]["dns"]["resource_group"] = "rg-mail"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fidelity-lab")
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump(ESTATE))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


# -- Cloudflare ------------------------------------------------------------------------------------
class Cloudflare(object):
    def __init__(self, lab, zone):
        svc = lab.service("cloudflare")
        self.base = svc["url"] + "/zones/%s/dns_records" % svc["zones"][zone]
        self.http = requests.Session()
        self.http.headers["Authorization"] = "Bearer " + Path(svc["api_token_file"]).read_text().strip()

    def list(self, **params):
        return self.http.get(self.base, params=dict(params, per_page=100)).json()["result"]

    def post(self, path="", body=None):
        return self.http.post(self.base + path, json=body)


def _identical_refusal(resp):
    body = resp.json()
    assert resp.status_code == 400 and body["success"] is False and body["result"] is None
    assert [e["code"] for e in body["errors"]] == [81058], body
    assert body["errors"][0]["message"] == "An identical record already exists."


def test_cloudflare_refuses_an_identical_record_on_create_update_and_batch(lab):
    zone = "dup.cloudflare.test"
    cf = Cloudflare(lab, zone)
    before = cf.list()
    mail = {"type": "MX", "name": zone, "content": "mail." + zone, "priority": 10, "ttl": 3600}
    _identical_refusal(cf.post(body=mail))
    # The name's case and a host's case do not make it another record.
    _identical_refusal(cf.post(body=dict(mail, name=zone.upper(), content=("MAIL." + zone).upper())))
    _identical_refusal(cf.post(body={"type": "TXT", "name": "@", "content": "v=spf1 include:_spf.google.com ~all"}))
    assert cf.list() == before, "a refused create leaves the zone as it was"

    # An update that would make one record the copy of another is refused too.
    backup = [r for r in before if r["type"] == "MX" and r["priority"] == 20][0]
    _identical_refusal(cf.http.patch(cf.base + "/" + backup["id"], json={"content": "mail." + zone, "priority": 10}))

    # A batch with one identical post applies nothing, not even its deletes.
    _identical_refusal(cf.post("/batch", {"deletes": [{"id": backup["id"]}], "posts": [mail]}))
    assert cf.list() == before

    # The same priority with another host, or the same host at another priority, is another record.
    other = cf.post(body=dict(mail, priority=30))
    assert other.status_code == 200 and other.json()["success"]
    # Deletes run before posts: putting back a record deleted in the same batch is no copy.
    mail_id = [r for r in before if r["type"] == "MX" and r["priority"] == 10][0]["id"]
    again = cf.post("/batch", {"deletes": [{"id": mail_id}], "posts": [mail]})
    assert again.status_code == 200 and len(again.json()["result"]["posts"]) == 1
    assert sorted((r["priority"], r["content"]) for r in cf.list(type="MX")) == [
        (10, "mail." + zone), (20, "backup." + zone), (30, "mail." + zone)]


def test_cloudflare_race_that_hits_an_identical_record_ends_in_a_re_plan(lab):
    """Someone creates the very record our batch creates, after our last read and before our write: Cloudflare
    refuses the batch (81058); the provider reads again, the engine plans again and removes only mxHero's
    record. The zone ends with one copy of the new MX, never two."""
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
    zone = "race.cloudflare.test"
    cf = Cloudflare(lab, zone)
    args = provider_args(lab, zone, replacement=[{"preference": 1, "exchange": "smtp.google.com"}])
    engine = dns_module.build_engine(dns_module.ARGSPEC.validate(args).validated_parameters)
    http = engine.provider  # a REST provider sends every request through its call()
    real_call = http.call
    raced = []

    def call(method, path, *a, **kw):
        if method == "POST" and path.endswith("/batch") and not raced:
            raced.append(cf.post(body={"type": "MX", "name": zone, "content": "smtp.google.com", "priority": 1,
                                       "ttl": 3600}).status_code)
            answer = real_call(method, path, *a, **kw)
            raced.append(answer)
            return answer
        return real_call(method, path, *a, **kw)

    http.call = call
    result = engine.mx(replacement=[{"preference": 1, "exchange": "smtp.google.com"}])
    assert raced[0] == 200
    status, body = raced[1]
    assert status == 400 and [e["code"] for e in body["errors"]] == [81058]
    assert sorted((r["priority"], r["content"]) for r in cf.list(type="MX")) == [(1, "smtp.google.com")]
    assert sorted(result["after"]["values"]) == ["1 smtp.google.com."]
    assert [f["action"] for f in result["findings"]] == ["removed"]
    assert not run_module("dns_mx", args)["changed"]


# -- Azure DNS ---------------------------------------------------------------------------------------
class Arm(object):
    def __init__(self, lab):
        from azure.identity import ClientSecretCredential
        svc = lab.service("azure")
        credential = ClientSecretCredential(svc["tenant_id"], svc["client_id"],
                                            Path(svc["client_secret_file"]).read_text().strip(),
                                            authority=svc["authority_host"], disable_instance_discovery=True,
                                            connection_verify=svc["ca"])
        token = credential.get_token("https://management.azure.com/.default").token
        self.svc = svc
        self.http = requests.Session()
        self.http.verify, self.http.trust_env = svc["ca"], False
        self.http.headers["Authorization"] = "Bearer " + token

    def zone_url(self, zone, group=None):
        return "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/dnsZones/%s" % (
            self.svc["resource_manager_url"], self.svc["subscription_id"], group or self.svc["zones"][zone.lower()],
            zone)

    def get(self, url, **params):
        sep = "&" if "?" in url else "?"
        return self.http.get(url + sep + API + "".join("&%s=%s" % (k, v) for k, v in params.items()))

    def pages(self, url, **params):
        """Every value of a paged list, following nextLink; (values, number of pages)."""
        resp = self.get(url, **params)
        values, pages = [], 0
        while True:
            assert resp.status_code == 200, resp.text
            body = resp.json()
            values.extend(body["value"])
            pages += 1
            if not body.get("nextLink"):
                return values, pages
            resp = self.http.get(body["nextLink"])


def _names(values):
    return sorted((v["type"].rsplit("/", 1)[1].upper(), v["name"]) for v in values)


def test_azure_zone_holds_soa_and_ns_from_its_creation(lab):
    arm = Arm(lab)
    url = arm.zone_url("sets.azure.test")
    soa = arm.get(url + "/SOA/@")
    assert soa.status_code == 200, soa.text
    body = soa.json()
    assert body["name"] == "@" and body["type"].lower() == "microsoft.network/dnszones/soa" and body["etag"]
    assert set(body["properties"]["SOARecord"]) == {"host", "email", "serialNumber", "refreshTime", "retryTime",
                                                    "expireTime", "minimumTTL"}
    assert body["properties"]["TTL"] == 3600
    ns = arm.get(url + "/NS/@").json()
    assert ns["properties"]["NSRecords"], "the apex NS record set comes with the zone"
    listed, dummy = arm.pages(url + "/recordsets")
    assert ("SOA", "@") in _names(listed) and ("NS", "@") in _names(listed)
    zone = arm.get(url).json()
    assert zone["properties"]["numberOfRecordSets"] == len(listed)
    assert zone["properties"]["nameServers"] == [r["nsdname"] for r in ns["properties"]["NSRecords"]]


def test_azure_lists_record_sets_all_and_by_type_paged_with_top_and_next_link(lab):
    arm = Arm(lab)
    url = arm.zone_url("sets.azure.test")
    every, one_page = arm.pages(url + "/recordsets")
    assert one_page == 1
    expected = [("A", "a.sub"), ("A", "b.sub"), ("A", "mail"), ("A", "www"), ("MX", "@"), ("NS", "@"), ("SOA", "@"),
                ("TXT", "@")]
    assert _names(every) == expected
    paged, pages = arm.pages(url + "/recordsets", **{"$top": 3})
    assert pages == 3 and _names(paged) == expected, "$top caps a page; nextLink carries on"
    first = arm.get(url + "/recordsets", **{"$top": 3}).json()
    assert len(first["value"]) == 3 and first["nextLink"].startswith(arm.svc["resource_manager_url"])
    assert "api-version=2018-05-01" in first["nextLink"]
    assert _names(arm.pages(url + "/all", **{"$top": 5})[0]) == expected
    by_type, pages = arm.pages(url + "/A", **{"$top": 2})
    assert pages == 2 and _names(by_type) == expected[:4]
    assert _names(arm.pages(url + "/SOA")[0]) == [("SOA", "@")]
    suffixed = arm.pages(url + "/recordsets", **{"$recordsetnamesuffix": "sub"})[0]
    assert _names(suffixed) == [("A", "a.sub"), ("A", "b.sub")]
    # A type the API knows and the zone does not hold is an empty list, not an error.
    assert arm.get(url + "/CAA").json() == {"value": []}


@pytest.mark.parametrize("tail", ["/FOO", "/FOO/@", "/SPF", "/MX/@/extra"])
def test_azure_answers_a_type_or_route_it_does_not_serve_with_an_error(lab, tail):
    arm = Arm(lab)
    resp = arm.get(arm.zone_url("sets.azure.test") + tail)
    assert resp.status_code == 404, resp.text
    error = resp.json()["error"]
    assert set(error) >= {"code", "message"} and error["message"]
    if tail != "/MX/@/extra":
        assert error["code"] == "InvalidResourceType"
        assert "could not be found in the namespace 'Microsoft.Network'" in error["message"]


def test_azure_zone_names_are_case_insensitive_and_come_back_in_lower_case(lab):
    arm = Arm(lab)
    zone = arm.get(arm.zone_url("SETS.Azure.TEST"))
    assert zone.status_code == 200, zone.text
    assert zone.json()["name"] == "sets.azure.test" and zone.json()["id"].endswith("/sets.azure.test")
    mx = arm.get(arm.zone_url("SETS.AZURE.TEST") + "/MX/@")
    assert mx.status_code == 200 and mx.json()["properties"]["MXRecords"]
    www = arm.get(arm.zone_url("sets.azure.test") + "/a/WWW")
    assert www.status_code == 200 and www.json()["name"] == "www"
    group = arm.get(arm.zone_url("x", group="RG-MAIL").rsplit("/", 1)[0]).json()
    assert [z["name"] for z in group["value"]] == ["grouped.azure.test"], "zones of one resource group, any case"


@pytest.mark.parametrize("group", [None, "rg-mail"])
def test_collection_removes_mxhero_from_an_upper_case_azure_zone(lab, group):
    """Issue 26, item 5: the zone given in upper case is the same zone (found in the subscription's list, or
    read in the named resource group); a second run changes nothing."""
    name = "grouped.azure.test" if group else "upper.azure.test"
    # With the group given, the owner name comes in upper case too.
    extra = {"azure_resource_group": group, "record": name.upper() + "."} if group else {}
    args = dict(provider_args(lab, name, **extra), zone=name.upper())
    result = run_module("dns_mx", args, diff=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and [f["action"] for f in result["findings"]] == ["removed"]
    mx = sorted(line.split(" IN MX ", 1)[1] for line in lab.records(name) if " IN MX " in line)
    assert mx == ["20 mail.%s." % name]
    again = run_module("dns_mx", args)
    assert not again.get("failed") and not again["changed"], again.get("msg")


# -- Reports API ---------------------------------------------------------------------------------------
def _reports(lab):
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account
    v = lab.manifest["domains"]["reports.test"]["vars"]
    creds = service_account.Credentials.from_service_account_file(
        v["unroute_google_service_account_file"], scopes=[AUDIT_RO], subject=v["unroute_google_subject"])
    http = requests.Session()
    http.verify, http.trust_env = v["unroute_google_ca_path"], False
    creds.refresh(Request(http))
    http.headers["Authorization"] = "Bearer " + creds.token
    return http, lab.service("google")["url"] + "admin/reports/v1/activity/users/%s/applications/admin"


def _ago(days):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_reports_refuse_a_start_time_more_than_180_days_back(lab):
    http, url = _reports(lab)
    old = http.get(url % "all", params={"startTime": _ago(181)})
    assert old.status_code == 400, old.text
    error = old.json()["error"]
    assert error["code"] == 400 and error["message"] and error["errors"][0]["reason"]
    within = http.get(url % "all", params={"startTime": _ago(179)})
    assert within.status_code == 200 and len(within.json()["items"]) == 2


def test_reports_decode_an_email_user_key_in_the_path(lab):
    http, url = _reports(lab)
    everyone = http.get(url % "all").json()["items"]
    assert len(everyone) == 2
    encoded = http.get(url % urllib.parse.quote("ops@reports.test", safe="")).json()
    assert [i["actor"]["email"] for i in encoded.get("items", [])] == ["ops@reports.test"]
