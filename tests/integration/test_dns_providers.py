"""The held DNS cases on every provider: BIND over RFC 2136, Route 53 (moto behind the lab's strict layer),
Cloudflare, Azure DNS and Google Cloud DNS (the lab's emulators), PowerDNS (a real pdns_server, its HTTP API)
and dns-lexicon (its own powerdns provider against that real server). One suite, one engine."""

from __future__ import annotations

import threading

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
import yaml

from helpers import provider_args, run_module
from provider_writers import add_mx
from unroute_lab import cli as lab_cli
from unroute_lab.manifest import Lab

pytestmark = pytest.mark.lab

PROVIDERS = ["bind", "route53", "cloudflare", "powerdns", "azure", "google_cloud_dns", "lexicon"]
LONG_SPF = ('"v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 ip4:192.0.2.3 ip4:192.0.2.4 ip4:192.0.2.5 ip4:192.0.2.6 '
            'ip4:192.0.2.7 ip4:192.0.2.8 ip4:192.0.2.9 ip4:192.0.2.10 " "ip4:192.0.2.11 ip4:192.0.2.12 ip4:192.0.2.13 '
            'ip4:192.0.2.14 ip4:192.0.2.15 ip4:192.0.2.16 include:smtp-relay.mxhero.com ip4:198.51.100.1 '
            'ip4:198.51.100.2 ip4:198.51.100.3 ip4:198.51.100.4 " "ip4:198.51.100.5 ip4:198.51.100.6 '
            'ip4:198.51.100.7 ip4:198.51.100.8 ip4:198.51.100.9 ip4:198.51.100.10 ip4:198.51.100.11 '
            'ip4:198.51.100.12 ip4:198.51.100.13 include:_spf.google.com ~all"')
CASES = {
    "mx-partial": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}.", "mail 3600 IN A 192.0.2.10"],
    "spf-include": ["@ 3600 IN MX 1 smtp.google.com.",
                    '@ 3600 IN TXT "v=spf1 include:_spf.google.com include:spf.mxhero.com ~all"',
                    '@ 3600 IN TXT "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"',
                    '@ 3600 IN TXT "MS=ms12345678"'],
    "spf-long": ["@ 3600 IN MX 10 mail.{z}.", "mail 3600 IN A 192.0.2.30", "@ 3600 IN TXT " + LONG_SPF],
    "lookalike": ["@ 3600 IN MX 10 notmxhero.com.", "@ 3600 IN MX 20 mxhero.com.evil.example.",
                  '@ 3600 IN TXT "v=spf1 include:notmxhero.com ip4:54.208.111.29 a:mxhero.co ~all"'],
    "sole": ["@ 3600 IN MX 10 smtp-in.mxhero.com."],
    "race": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}.", "mail 3600 IN A 192.0.2.1"],
    "creds": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}."],
    "restore": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}.", "@ 3600 IN TXT " + LONG_SPF,
                '@ 3600 IN TXT "google-site-verification=keep"'],
    "dkim": ["@ 3600 IN MX 20 mail.{z}.", "mxh1._domainkey 3600 IN CNAME mxh1.dkim.mxhero.com.",
             "s2._domainkey 3600 IN CNAME s2.dkim.mxhero.com.",
             "selector1._domainkey 3600 IN CNAME selector1-x._domainkey.example.onmicrosoft.com.",
             "google._domainkey-x 3600 IN CNAME google.dkim.mxhero.com.", "zz 3600 IN A 192.0.2.9",
             "x._domainkey.eu 3600 IN CNAME x.dkim.mxhero.com."],
    "retry": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}."],
    "tamper": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.{z}.", "mail 3600 IN A 192.0.2.10",
               '@ 3600 IN TXT "v=spf1 include:_spf.google.com include:spf.mxhero.com ~all"',
               "other 3600 IN MX 20 mail.{z}."],
}


def zone(case, provider):
    return "%s.%s.test" % (case, provider.replace("_", "-"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("providers-lab")
    domains = []
    for provider in PROVIDERS:
        for case, lines in CASES.items():
            name = zone(case, provider)
            section = {"records": [line.replace("{z}", name) for line in lines]}
            if provider != "bind":
                section["provider"] = provider
            domains.append({"name": name, "dns": section})
    for host in ("microsoft365", "godaddy"):
        name = "hosted.%s.test" % host
        domains.append({"name": name, "dns": {"provider": host, "records": [
            line.replace("{z}", name) for line in CASES["mx-partial"] + CASES["spf-include"][1:2]]}})
    for name in ("quoted.cloudflare.test", "paged.cloudflare.test"):
        domains.append({"name": name, "dns": {"provider": "cloudflare", "records": ["@ 3600 IN MX 10 mail.%s." % name]}})
    domains.append({"name": "zoneid.route53.test", "dns": {"provider": "route53", "records": [
        line.replace("{z}", "zoneid.route53.test") for line in CASES["creds"]]}})
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump({"domains": domains}))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def values(lab, name, rdtype):
    return sorted(line.split(" IN %s " % rdtype, 1)[1] for line in lab.records(name)
                  if line.startswith(name + ". ") and " IN %s " % rdtype in line)


def strip(findings):
    return [{k: v for k, v in f.items() if k != "action"} for f in findings]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_check_mode_writes_nothing_and_the_real_run_matches_it(lab, provider):
    name = zone("mx-partial", provider)
    before = lab.records(name)
    audit = run_module("dns_mx", provider_args(lab, name), check_mode=True, diff=True)
    assert lab.records(name) == before, "check mode wrote to the zone"
    real = run_module("dns_mx", provider_args(lab, name), diff=True)
    assert values(lab, name, "MX") == ["20 mail.%s." % name]
    assert [f["action"] for f in audit["findings"]] == ["would_remove"]
    assert [f["action"] for f in real["findings"]] == ["removed"]
    assert strip(audit["findings"]) == strip(real["findings"]) and audit["diff"] == real["diff"]
    again = run_module("dns_mx", provider_args(lab, name), diff=True)
    assert not again["changed"] and again["findings"] == []
    assert lab.records(name) == [line for line in before if "mxhero" not in line]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_spf_edit_keeps_the_other_txt_records_and_a_second_run_changes_nothing(lab, provider):
    name = zone("spf-include", provider)
    others = [v for v in values(lab, name, "TXT") if "spf1" not in v]
    real = run_module("dns_spf", provider_args(lab, name))
    assert real["changed"] and real["spf_after"] == "v=spf1 include:_spf.google.com ~all"
    txt = values(lab, name, "TXT")
    assert '"v=spf1 include:_spf.google.com ~all"' in txt and all(v in txt for v in others) and len(txt) == 3
    again = run_module("dns_spf", provider_args(lab, name))
    assert not again["changed"] and again["findings"] == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_long_spf_round_trips_exactly(lab, provider):
    """A policy over 255 bytes comes back as the same text on every provider: no spurious second change."""
    name = zone("spf-long", provider)
    real = run_module("dns_spf", provider_args(lab, name))
    assert real["changed"] and "mxhero" not in real["spf_after"] and real["spf_after"].count("ip4:") == 29
    stored = values(lab, name, "TXT")[0]
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, stored)
    assert b"".join(rdata.strings).decode() == real["spf_after"]
    assert all(len(s) <= 255 for s in rdata.strings) and len(rdata.strings) >= 2
    again = run_module("dns_spf", provider_args(lab, name), diff=True)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
    info = run_module("dns_info", provider_args(lab, name, checks=["spf"]))
    assert info["records"]["spf"] == [real["spf_after"]]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_lookalikes_are_untouched(lab, provider):
    name = zone("lookalike", provider)
    before = lab.records(name)
    for module in ("dns_mx", "dns_spf", "dns_info"):
        result = run_module(module, provider_args(lab, name))
        assert not result["changed"] and result["findings"] == [], (module, result)
    assert lab.records(name) == before


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sole_mx_is_refused_then_replaced(lab, provider):
    name = zone("sole", provider)
    refused = run_module("dns_mx", provider_args(lab, name))
    assert refused.get("failed") and refused["msg"].startswith(name + ": ") and "without MX records" in refused["msg"]
    assert values(lab, name, "MX") == ["10 smtp-in.mxhero.com."]
    args = provider_args(lab, name, replacement=[{"preference": 1, "exchange": "smtp.google.com"}])
    assert run_module("dns_mx", args)["changed"]
    assert values(lab, name, "MX") == ["1 smtp.google.com."]
    assert not run_module("dns_mx", args)["changed"]


WRONG = {"bind": {"key_secret": "c2VjcmV0LXRoYXQtaXMtd3JvbmctMTIzNDU2Nzg5MA=="},
         "route53": {"aws_secret_key": "wrong-secret-key-0123456789abcdefghijklm"},
         "cloudflare": {"cloudflare_api_token": "wrong-token-0123456789abcdefghij"},
         "powerdns": {"powerdns_api_key": "wrong-api-key-0123456789"},
         "azure": {"azure_client_secret": "wrong-client-secret-0123456789abcdef"},
         "google_cloud_dns": {"gcp_service_account_contents": None},
         "lexicon": {"lexicon_options": {"auth_token": "wrong-lexicon-token-0123456789"}}}


def wrong_credentials(lab, provider):
    """Options that differ from the lab's only in a secret; returns (options, the secret)."""
    wrong = dict(WRONG[provider])
    if provider == "google_cloud_dns":
        import json
        from unroute_lab import pki
        info = json.loads(open(lab.service("google_cloud_dns")["service_account_file"]).read())
        info["private_key"] = pki.key_pem(pki.new_key()).decode()  # a key Google never saw
        wrong["gcp_service_account_contents"] = json.dumps(info)
        return dict(wrong, gcp_service_account_file=None), info["private_key"].splitlines()[1]
    if provider == "lexicon":
        options = dict(provider_args(lab, zone("creds", provider))["lexicon_options"], **wrong["lexicon_options"])
        return {"lexicon_options": options}, wrong["lexicon_options"]["auth_token"]
    return wrong, list(wrong.values())[0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_credentials_are_one_line_naming_the_zone_without_the_secret(lab, provider):
    name = zone("creds", provider)
    before = lab.records(name)
    options, secret = wrong_credentials(lab, provider)
    for check_mode in (True, False):
        result = run_module("dns_mx", provider_args(lab, name, **options), check_mode=check_mode)
        assert result.get("failed"), result
        msg = result["msg"]
        assert msg.startswith(name + ": ") and "\n" not in msg and "Traceback" not in msg
        assert any(word in msg for word in ("TSIG", "credentials", "API token", "API key")), msg
        assert secret not in str(result)
    assert lab.records(name) == before


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unknown_zone_is_one_line_naming_the_zone(lab, provider):
    name = "nosuch-%s.test" % provider.replace("_", "-")
    args = dict(provider_args(lab, zone("creds", provider)), zone=name)
    result = run_module("dns_mx", args, check_mode=True)
    assert result.get("failed") and result["msg"].startswith(name + ": ") and "\n" not in result["msg"]
    assert name in result["msg"].split(": ", 1)[1]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_concurrent_change_between_read_and_write(lab, provider):
    """Someone adds an MX between our read and our write: it survives, and the finding says what the
    provider's write promised (PowerDNS's API has no version token: read_verify)."""
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
    name = zone("race", provider)
    params = dns_module.ARGSPEC.validate(provider_args(lab, name)).validated_parameters
    engine = dns_module.build_engine(params)
    calls = []

    def someone_else():
        if not calls:
            calls.append(1)
            add_mx(lab, name, "30 other.example.")

    engine.before_write = someone_else
    result = engine.mx()
    assert calls == [1]
    assert values(lab, name, "MX") == ["20 mail.%s." % name, "30 other.example."]
    assert sorted(result["after"]["values"]) == ["20 mail.%s." % name, "30 other.example."]
    expected = "read_verify" if provider in ("powerdns", "cloudflare", "lexicon") else "atomic_cas"
    assert [f["guarantee"] for f in result["findings"]] == [expected]


def test_route53_strict_layer_refuses_a_stale_delete_as_aws_does(lab):
    """moto alone accepts a DELETE of values it once saw written; AWS, and the lab's layer, do not."""
    import botocore.exceptions
    from provider_writers import _boto
    svc = lab.service("route53")
    client = _boto(svc)
    name = zone("mx-partial", "route53")
    zone_id = svc["hosted_zones"][name]
    current = client.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name + ".",
                                               StartRecordType="MX", MaxItems="1")["ResourceRecordSets"][0]
    stale = dict(current, ResourceRecords=current["ResourceRecords"] + [{"Value": "10 smtp-in.mxhero.com."}])
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "DELETE", "ResourceRecordSet": stale}]})
    assert caught.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert "do not match the current values" in caught.value.response["Error"]["Message"]
    # A CREATE of a set that exists, not deleted in the same batch: refused as AWS does.
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": current}]})
    assert "but it already exists" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize("provider,fault", [("route53", {"kind": "throttle", "count": 2}),
                                            ("route53", {"kind": "prior_request", "count": 1}),
                                            ("cloudflare", {"kind": "429", "count": 2, "retry_after": 0}),
                                            ("azure", {"kind": "429", "count": 2}),
                                            ("google_cloud_dns", {"kind": "429", "count": 2})])
def test_rate_limits_are_waited_out(lab, provider, fault):
    name = zone("retry", provider)
    lab.fault(provider, **fault)
    result = run_module("dns_mx", provider_args(lab, name))
    lab.clear_faults(provider)
    assert not result.get("failed"), result.get("msg")
    assert "10 smtp-in.mxhero.com." not in values(lab, name, "MX")


def test_cloudflare_token_without_dns_edit_is_one_line(lab):
    from pathlib import Path
    name = zone("creds", "cloudflare")
    token = Path(lab.service("cloudflare")["read_only_token_file"]).read_text().strip()
    audit = run_module("dns_mx", provider_args(lab, name, cloudflare_api_token=token), check_mode=True)
    assert audit["changed"] and not audit.get("failed")
    result = run_module("dns_mx", provider_args(lab, name, cloudflare_api_token=token))
    assert result.get("failed") and result["msg"].startswith(name + ": ") and "HTTP 403" in result["msg"]
    assert "DNS Edit" in result["msg"] and token not in str(result)
    assert "10 smtp-in.mxhero.com." in values(lab, name, "MX")


def test_provider_secrets_come_from_the_environment(lab):
    args = provider_args(lab, zone("lookalike", "cloudflare"))
    token = args.pop("cloudflare_api_token")
    missing = run_module("dns_info", args)
    assert missing.get("failed") and "cloudflare_api_token" in missing["msg"]
    found = run_module("dns_info", args, environment={"CLOUDFLARE_API_TOKEN": token})
    assert not found.get("failed"), found.get("msg")
    args = provider_args(lab, zone("lookalike", "powerdns"))
    key = args.pop("powerdns_api_key")
    assert not run_module("dns_info", args, environment={"PDNS_API_KEY": key}).get("failed")


def test_parallel_runs_on_route53_remove_the_record_once(lab):
    """Two runs racing on one RRset: the second's batch is refused, it re-reads and finds nothing to do."""
    name = zone("creds", "route53")
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_module("dns_mx", provider_args(lab, name))))
               for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert values(lab, name, "MX") == ["20 mail.%s." % name]
    assert not any(r.get("failed") for r in results)


def test_inventory_plugin_names_each_domains_provider_from_ns_records(lab):
    import json
    from test_estate_inventory import inventory, plain
    proc = inventory(lab.dir / "domains.estate.yml")
    assert proc.returncode == 0, proc.stderr
    data = plain(json.loads(proc.stdout))
    hostvars = data["_meta"]["hostvars"]
    for provider in ("route53", "cloudflare", "powerdns", "azure", "google_cloud_dns"):
        assert hostvars[zone("mx-partial", provider)]["unroute_dns_provider"] == provider
        assert zone("mx-partial", provider) in data["dns_%s" % provider]["hosts"]
    assert "ns-1536.awsdns-00.co.uk." in hostvars["mx-partial.route53.test"]["unroute_detected_ns"]
    assert "unroute_dns_provider" not in hostvars[zone("mx-partial", "bind")]
    for host in ("microsoft365", "godaddy"):
        assert hostvars["hosted.%s.test" % host]["unroute_dns_provider"] == "manual"
        assert hostvars["hosted.%s.test" % host]["unroute_dns_host"] == host
    # GoDaddy stays manual (its API is closed to most accounts) but names the lexicon provider for those with access.
    assert hostvars["hosted.godaddy.test"]["unroute_dns_lexicon_provider"] == "godaddy"
    assert "unroute_dns_lexicon_provider" not in hostvars["hosted.microsoft365.test"]


@pytest.mark.parametrize("host,where", [("microsoft365", "Microsoft 365 admin center > Settings > Domains"),
                                        ("godaddy", "GoDaddy > My Products")])
def test_hosts_without_an_api_get_manual_steps_and_nothing_is_written(lab, host, where):
    from helpers import dns_args
    name = "hosted.%s.test" % host
    before = lab.records(name)
    args = dns_args(lab, name, provider="manual", dns_host=host)
    for check_mode in (True, False):
        mx = run_module("dns_mx", args, check_mode=check_mode)
        assert not mx.get("failed"), mx.get("msg")
        assert not mx["changed"] and mx["removed"] == []
        [item] = mx["findings"]
        assert item["action"] == "manual" and item["object"] == "%s. MX 10 smtp-in.mxhero.com." % name
        assert item["manual_steps"].startswith("In %s > %s" % (where, name)) or where in item["manual_steps"]
        assert "delete the MX record of %s. with value '10 smtp-in.mxhero.com.'" % name in item["manual_steps"]
        assert "keep the MX records '20 mail.%s.'" % name in item["manual_steps"]
        assert any("manual action needed" in w for w in mx["warnings"])
        spf = run_module("dns_spf", args, check_mode=check_mode)
        [term] = spf["findings"]
        assert term["action"] == "manual" and "to 'v=spf1 include:_spf.google.com ~all'" in term["manual_steps"]
    assert lab.records(name) == before


def _cloudflare_post(lab, name, body):
    from pathlib import Path
    from provider_writers import _json
    svc = lab.service("cloudflare")
    return _json(svc["url"] + "/zones/%s/dns_records" % svc["zones"][name], "POST", body,
                 token=Path(svc["api_token_file"]).read_text().strip())


def _cloudflare_ids(lab, name, rdtype):
    from pathlib import Path
    from provider_writers import _json
    svc = lab.service("cloudflare")
    listing = _json(svc["url"] + "/zones/%s/dns_records?type=%s&per_page=100" % (svc["zones"][name], rdtype),
                    token=Path(svc["api_token_file"]).read_text().strip())
    return [r["id"] for r in listing["result"]]


def test_cloudflare_txt_in_quoted_form_round_trips(lab):
    """Content stored as quoted character-strings (the form Cloudflare's dashboard suggests) is read as their
    concatenation; the rewrite keeps the record (same id) and a second run sees nothing to do."""
    name = "quoted.cloudflare.test"
    record = _cloudflare_post(lab, name, {"type": "TXT", "name": name, "ttl": 3600,
                                          "content": '"v=spf1 include:spf.mxhero.com " "include:_spf.google.com ~all"'})
    result = run_module("dns_spf", provider_args(lab, name))
    assert result["changed"] and result["spf_after"] == "v=spf1 include:_spf.google.com ~all"
    assert values(lab, name, "TXT") == ['"v=spf1 include:_spf.google.com ~all"']
    assert record["result"]["id"] in _cloudflare_ids(lab, name, "TXT")
    again = run_module("dns_spf", provider_args(lab, name))
    assert not again["changed"] and again["findings"] == []


def test_cloudflare_records_on_a_later_page_are_seen(lab):
    """More records at one name than one page holds: the mxHero MX on the last page is still found."""
    name = "paged.cloudflare.test"
    for index in range(120):
        _cloudflare_post(lab, name, {"type": "TXT", "name": name, "ttl": 3600, "content": "filler-%03d" % index})
        _cloudflare_post(lab, name, {"type": "MX", "name": name, "ttl": 3600, "priority": 50 + index % 40,
                                     "content": "mx%03d.%s" % (index, name)})
    _cloudflare_post(lab, name, {"type": "MX", "name": name, "ttl": 3600, "priority": 99,
                                 "content": "smtp-in.mxhero.com"})
    result = run_module("dns_mx", provider_args(lab, name))
    assert [f["object"] for f in result["findings"]] == ["%s. MX 99 smtp-in.mxhero.com." % name]
    mx = values(lab, name, "MX")
    assert len(mx) == 121 and not any("mxhero" in v for v in mx)


def test_route53_hosted_zone_id_and_private_zones(lab):
    import uuid
    from provider_writers import _boto
    name = "zoneid.route53.test"
    svc = lab.service("route53")
    client = _boto(svc)
    client.create_hosted_zone(Name=name + ".", CallerReference=uuid.uuid4().hex,
                              HostedZoneConfig={"PrivateZone": True, "Comment": "private twin"},
                              VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"})
    # Found by name: the public zone, the private twin ignored.
    audit = run_module("dns_mx", provider_args(lab, name), check_mode=True)
    assert audit["changed"] and not audit.get("failed"), audit.get("msg")
    wrong = run_module("dns_mx", provider_args(lab, name, hosted_zone_id=svc["hosted_zones"]["creds.route53.test"]),
                       check_mode=True)
    assert wrong.get("failed") and wrong["msg"].startswith(name + ": option hosted_zone_id")
    assert "creds.route53.test" in wrong["msg"]
    real = run_module("dns_mx", provider_args(lab, name, hosted_zone_id="/hostedzone/" + svc["hosted_zones"][name]))
    assert real["changed"] and values(lab, name, "MX") == ["20 mail.%s." % name]


def test_dump_shows_every_providers_zones_and_the_manifest_their_endpoints(lab):
    state = lab.state()
    for provider in ("route53", "cloudflare", "powerdns", "azure", "google_cloud_dns"):
        zones = state[provider]["zones"]
        assert zone("lookalike", provider) in zones and zone("mx-partial", "bind") not in zones
        assert any(" IN MX 10 notmxhero.com." in line for line in zones[zone("lookalike", provider)])
        # Azure's and Google's SDKs send bearer tokens over HTTPS only: those emulators use the lab's CA.
        scheme = "https" if provider in ("azure", "google_cloud_dns") else "http"
        assert lab.service(provider)["url"].startswith(scheme + "://127.0.0.1:")
    # Lexicon's zones live on the real PowerDNS.
    assert zone("lookalike", "lexicon") in state["powerdns"]["zones"]
    assert zone("lookalike", "bind") in state["dns"] and zone("lookalike", "route53") not in state["dns"]
    for path in (lab.service("route53")["secret_key_file"], lab.service("cloudflare")["api_token_file"],
                 lab.service("powerdns")["api_key_file"], lab.service("azure")["client_secret_file"],
                 lab.service("google_cloud_dns")["service_account_file"]):
        assert oct(__import__("os").stat(path).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("provider", [p if p != "lexicon" else pytest.param(p, marks=pytest.mark.xfail(
    strict=True, reason="known gap: dns-lexicon writes a TXT value as one content string, so a restored SPF "
    "over 255 bytes comes back split where the host splits it, not as it was")) for p in PROVIDERS])
def test_restore_puts_back_what_the_run_removed(lab, provider):
    """The run record's removed/added lists are enough to put every provider's RRsets back as they were."""
    name = zone("restore", provider)
    before = lab.records(name)
    mx = run_module("dns_mx", provider_args(lab, name))
    spf = run_module("dns_spf", provider_args(lab, name))
    assert mx["changed"] and spf["changed"] and lab.records(name) != before
    args = provider_args(lab, name, removed=mx["removed"] + spf["removed"], added=mx["added"] + spf["added"])
    restored = run_module("dns_restore", args)
    assert not restored.get("failed"), restored.get("msg")
    assert lab.records(name) == before
    assert not run_module("dns_restore", args)["changed"]


def _tampered(name, mx, spf):
    """Edits an attacker can make to a genuine run record, each with what the restore must refuse."""
    import copy
    apex, own = name + ".", "20 mail.%s." % name

    def edit(change):
        removed, added = copy.deepcopy(mx["removed"] + spf["removed"]), copy.deepcopy(mx["added"] + spf["added"])
        change(removed, added)
        return removed, added

    def evil_mx(removed, added):
        item = next(i for i in removed if i["type"] == "MX")
        item["rrset"] = sorted([v for v in item["rrset"] if v != item["value"]] + ["10 evil.example."])
        item["value"] = "10 evil.example."

    def evil_spf(removed, added):
        item = next(i for i in removed if i["type"] == "TXT")
        old = item["value"]
        item["value"] = old.replace("include:spf.mxhero.com", "include:spf.mxhero.com include:evil.example")
        item["rrset"] = sorted([v for v in item["rrset"] if v != old] + [item["value"]])

    def second_word(removed, added):
        item = next(i for i in removed if i["type"] == "MX")
        value = "10 evil.example smtp-in.mxhero.com."
        item["rrset"] = sorted([v for v in item["rrset"] if v != item["value"]] + [value])
        item["value"] = value

    def untouched_name(removed, added):
        removed.append({"record": "other.%s" % apex, "type": "MX", "ttl": 3600, "value": "10 smtp-in.mxhero.com.",
                        "rrset": sorted(["10 smtp-in.mxhero.com.", own]), "module": "dns_mx"})

    def own_mx_added(removed, added):
        added.append({"record": apex, "type": "MX", "ttl": 3600, "value": own, "module": "dns_mx"})

    def own_mx_added_and_hidden(removed, added):
        own_mx_added(removed, added)
        for item in removed:
            if item["type"] == "MX":
                item["rrset"] = [v for v in item["rrset"] if v != own]

    return [(f.__name__,) + edit(f) for f in (evil_mx, second_word, evil_spf, untouched_name, own_mx_added,
                                              own_mx_added_and_hidden)]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_restore_refuses_a_tampered_record(lab, provider):
    """Issue 26 (1, 2): an edited record - a foreign MX or SPF term put back, a name the run never touched, the
    domain's own MX named as added - is refused whole, in check mode (--check --diff) as in a real restore, and
    nothing is written; the genuine record still restores."""
    name = zone("tamper", provider)
    before = lab.records(name)
    mx = run_module("dns_mx", provider_args(lab, name))
    spf = run_module("dns_spf", provider_args(lab, name))
    assert mx["changed"] and spf["changed"]
    left = lab.records(name)
    for label, removed, added in _tampered(name, mx, spf):
        args = provider_args(lab, name, removed=removed, added=added)
        for check_mode in (True, False):
            result = run_module("dns_restore", args, check_mode=check_mode, diff=True)
            assert result.get("failed"), (label, check_mode, result)
            assert "the run record is refused" in result["msg"], (label, result["msg"])
            assert "\n" not in result["msg"]
            assert lab.records(name) == left, (label, check_mode)
    genuine = provider_args(lab, name, removed=mx["removed"] + spf["removed"], added=mx["added"] + spf["added"])
    planned = run_module("dns_restore", genuine, check_mode=True, diff=True)
    done = run_module("dns_restore", genuine, diff=True)
    assert not done.get("failed"), done.get("msg")
    assert planned["diff"] == done["diff"]
    assert lab.records(name) == before


def test_restore_refuses_provider_manual(lab):
    from helpers import dns_args
    result = run_module("dns_restore", dns_args(lab, "hosted.godaddy.test", provider="manual", removed=[],
                                                added=[]))
    assert result.get("failed") and result["msg"].startswith("hosted.godaddy.test: provider manual")


@pytest.mark.parametrize("provider", [p if p != "lexicon" else pytest.param(p, marks=pytest.mark.xfail(
    strict=True, reason="known gap: through dns-lexicon's powerdns provider the _domainkey CNAMEs read back empty; "
    "not found yet")) for p in PROVIDERS])
def test_dkim_selectors_are_found_on_every_provider(lab, provider):
    """Route 53 and Cloudflare read the selectors in one listing; the findings are the same everywhere."""
    name = zone("dkim", provider)
    info = run_module("dns_info", provider_args(lab, name, checks=["dkim"]))
    assert not info.get("failed"), info.get("msg")
    assert [f["object"] for f in info["findings"]] == [
        "mxh1._domainkey.%s. CNAME mxh1.dkim.mxhero.com." % name, "s2._domainkey.%s. CNAME s2.dkim.mxhero.com." % name]
    few = run_module("dns_info", provider_args(lab, name, checks=["dkim"], dkim_selectors=["google", "s2"]))
    assert [f["object"] for f in few["findings"]] == ["s2._domainkey.%s. CNAME s2.dkim.mxhero.com." % name]
