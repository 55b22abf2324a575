"""What only Azure DNS, Google Cloud DNS and dns-lexicon have: the service's own guard against a stale write
(Azure's If-Match etag and 412, Cloud DNS's exact-match deletions and 412 conditionNotMet), the emulators' wire
rules, and lexicon's after-the-fact verification (read_verify)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers import provider_args, run_module
from provider_writers import _azure, _cloud_dns, add_mx
from unroute_lab import cli as lab_cli
from unroute_lab.manifest import Lab

pytestmark = pytest.mark.lab

BASE = ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}.", "mail 3600 IN A 192.0.2.1"]
ZONES = {"stale.azure.test": "azure", "group.azure.test": "azure", "env.azure.test": "azure",
         "stale.gcd.test": "google_cloud_dns", "paged.gcd.test": "google_cloud_dns", "env.gcd.test": "google_cloud_dns",
         "verify.lexicon.test": "lexicon"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cloud-dns-lab")
    domains = []
    for name, provider in ZONES.items():
        section = {"provider": provider, "records": [line.replace("{z}", name) for line in BASE]}
        if name == "group.azure.test":
            section["resource_group"] = "rg-mail"
        domains.append({"name": name, "dns": section})
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump({"domains": domains}))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def mx(lab, name):
    return sorted(line.split(" IN MX ", 1)[1] for line in lab.records(name) if line.startswith(name + ". ") and
                  " IN MX " in line)


def provider_for(lab, name):
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
    params = dns_module.ARGSPEC.validate(provider_args(lab, name)).validated_parameters
    return dns_module.build_engine(params).provider


@pytest.mark.parametrize("name", ["stale.azure.test", "stale.gcd.test"])
def test_a_write_planned_on_a_stale_read_is_refused_by_the_service(lab, name):
    """No re-read between: the service itself (Azure 412 on If-Match, Cloud DNS 412 on the deletions) refuses
    the write, and the other writer's record is still there."""
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import PrerequisiteFailed
    provider = provider_for(lab, name)
    provider.check_zone(name)
    current = provider.read(name + ".", "MX")
    add_mx(lab, name, "30 other.example.")
    with pytest.raises(PrerequisiteFailed) as caught:
        provider.change(current, ["10 smtp-in.mxhero.com."], [], 3600)
    assert "412" in str(caught.value)
    assert mx(lab, name) == ["10 smtp-in.mxhero.com.", "20 mail.%s." % name, "30 other.example."]
    # The engine's loop re-reads, re-plans and removes only mxHero's record.
    result = run_module("dns_mx", provider_args(lab, name))
    assert result["changed"] and [f["guarantee"] for f in result["findings"]] == ["atomic_cas"]
    assert mx(lab, name) == ["20 mail.%s." % name, "30 other.example."]


def test_azure_emulator_keeps_arm_etag_rules(lab):
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    svc = lab.service("azure")
    client = _azure(svc)
    name = "group.azure.test"
    current = client.record_sets.get("rg-mail", name, "@", "MX")
    assert current.etag and current.ttl == 3600
    with pytest.raises(HttpResponseError) as stale:
        client.record_sets.create_or_update("rg-mail", name, "@", "MX", current, if_match="not-the-etag")
    assert stale.value.status_code == 412 and stale.value.error.code == "PreconditionFailed"
    with pytest.raises(HttpResponseError) as exists:
        client.record_sets.create_or_update("rg-mail", name, "@", "MX", current, if_none_match="*")
    assert exists.value.status_code == 412
    with pytest.raises(ResourceNotFoundError) as missing:
        client.record_sets.get("rg-mail", name, "nothing-here", "MX")
    assert missing.value.error.code == "NotFound"
    written = client.record_sets.create_or_update("rg-mail", name, "@", "MX", current, if_match=current.etag)
    assert written.etag != current.etag
    assert [z.name for z in client.zones.list()] == sorted(z for z, p in ZONES.items() if p == "azure")


def test_azure_resource_group_is_found_or_taken_as_given(lab):
    name = "group.azure.test"
    found = run_module("dns_mx", provider_args(lab, name), check_mode=True)
    assert found["changed"] and not found.get("failed"), found.get("msg")
    wrong = run_module("dns_mx", provider_args(lab, name, azure_resource_group="rg-dns"), check_mode=True)
    assert wrong.get("failed") and wrong["msg"].startswith(name + ": zone %s: " % name)
    assert "resource group rg-dns" in wrong["msg"] and "\n" not in wrong["msg"]
    given = run_module("dns_mx", provider_args(lab, name, azure_resource_group="rg-mail"), check_mode=True)
    assert given["findings"] == found["findings"]


def test_azure_cloud_must_name_a_cloud(lab):
    result = run_module("dns_mx", provider_args(lab, "group.azure.test", azure_cloud="AzureGermanCloud"),
                        check_mode=True)
    assert result.get("failed") and result["msg"].startswith("group.azure.test: option azure_cloud 'AzureGermanCloud'")


def test_cloud_dns_emulator_keeps_googles_change_rules(lab):
    from googleapiclient.errors import HttpError
    svc = lab.service("google_cloud_dns")
    service = _cloud_dns(svc)
    managed = svc["zones"]["paged.gcd.test"]
    zones = service.managedZones().list(project=svc["project"], dnsName="paged.gcd.test.").execute()
    assert [z["name"] for z in zones["managedZones"]] == [managed]
    [current] = service.resourceRecordSets().list(project=svc["project"], managedZone=managed,
                                                  name="paged.gcd.test.", type="MX").execute()["rrsets"]
    wrong_ttl = dict(current, ttl=300)
    with pytest.raises(HttpError) as stale:
        service.changes().create(project=svc["project"], managedZone=managed,
                                 body={"deletions": [wrong_ttl], "additions": []}).execute()
    assert stale.value.resp.status == 412
    assert b"conditionNotMet" in stale.value.content
    assert b"Precondition not met for 'entity.change.deletions[0]'" in stale.value.content
    with pytest.raises(HttpError) as twice:
        service.changes().create(project=svc["project"], managedZone=managed,
                                 body={"additions": [current]}).execute()
    assert twice.value.resp.status == 409 and b"alreadyExists" in twice.value.content
    # Paging: nextPageToken until the last page.
    for index in range(5):
        service.changes().create(project=svc["project"], managedZone=managed, body={"additions": [
            {"name": "h%d.paged.gcd.test." % index, "type": "A", "ttl": 300, "rrdatas": ["192.0.2.%d" % index]}]
        }).execute()
    seen, token = [], None
    while True:
        page = service.resourceRecordSets().list(project=svc["project"], managedZone=managed, maxResults=2,
                                                 pageToken=token).execute()
        seen.extend((r["name"], r["type"]) for r in page["rrsets"])
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) and {("h%d.paged.gcd.test." % i, "A") for i in range(5)} <= set(seen)


@pytest.mark.parametrize("name,env", [
    ("env.azure.test", lambda args: {"AZURE_SECRET": args.pop("azure_client_secret"),
                                     "AZURE_SUBSCRIPTION_ID": args.pop("azure_subscription_id")}),
    ("env.gcd.test", lambda args: {"GCP_SERVICE_ACCOUNT_FILE": args.pop("gcp_service_account_file")}),
])
def test_credentials_come_from_the_environment(lab, name, env):
    args = provider_args(lab, name)
    environment = env(args)
    found = run_module("dns_info", args, environment=environment)
    assert not found.get("failed"), found.get("msg")
    assert not any(value in str(found) for value in environment.values() if "/" not in value)


def test_lexicon_verifies_after_the_fact_and_says_so(lab, monkeypatch):
    """Lexicon has no guard: a writer that puts mxHero's record back during our write is caught by the re-read,
    in one line that says the provider offers read_verify only."""
    import lexicon._private.providers.powerdns as pdns
    name = "verify.lexicon.test"
    original = pdns.Provider.delete_record

    def delete_then_someone_writes(self, *args, **kwargs):
        done = original(self, *args, **kwargs)
        add_mx(lab, name, "10 smtp-in.mxhero.com.")
        return done

    monkeypatch.setattr(pdns.Provider, "delete_record", delete_then_someone_writes)
    result = run_module("dns_mx", provider_args(lab, name))
    assert result.get("failed") and result["msg"].startswith(name + ": %s. MX: after the write" % name)
    assert "read_verify" in result["msg"] and "\n" not in result["msg"]
    monkeypatch.undo()
    audit = run_module("dns_mx", provider_args(lab, name), check_mode=True)
    assert [f["guarantee"] for f in audit["findings"]] == ["read_verify"]
    assert run_module("dns_mx", provider_args(lab, name))["changed"]
    assert mx(lab, name) == ["20 mail.%s." % name]


def test_lexicon_secrets_never_reach_the_result(lab):
    name = "verify.lexicon.test"
    args = provider_args(lab, name)
    token = args["lexicon_options"]["auth_token"]
    result = run_module("dns_info", args)
    assert not result.get("failed"), result.get("msg")
    assert token not in str(result)
    assert Path(lab.service("powerdns")["api_key_file"]).read_text().strip() == token


def test_azure_service_principal_with_a_certificate(lab):
    """A certificate instead of a secret: azure-identity signs a client assertion that the lab's Entra checks."""
    args = provider_args(lab, "env.azure.test")
    args.pop("azure_client_secret")
    args["azure_client_certificate_path"] = lab.service("azure")["certificate_path"]
    result = run_module("dns_info", args)
    assert not result.get("failed"), result.get("msg")
    assert result["records"]["mx"] == ["10 smtp-in.mxhero.com.", "20 mail.env.azure.test."]
