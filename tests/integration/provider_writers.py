"""Another writer of a lab zone, through each service's own interface (not our providers): what a colleague
or a DNS-as-code tool does between our read and our write."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import dns.query
import dns.tsigkeyring
import dns.update


def add_mx(lab, zone, value, ttl=3600):
    provider = lab.provider_of(zone)
    name = zone + "."
    if provider == "bind":
        d = lab.dns
        update = dns.update.UpdateMessage(zone, keyring=dns.tsigkeyring.from_text({d["key_name"]: lab.tsig_secret}),
                                          keyalgorithm=d["key_algorithm"])
        update.add(name, ttl, "MX", value)
        assert dns.query.tcp(update, d["server"], port=d["port"], timeout=5).rcode() == 0
    elif provider == "route53":
        svc = lab.service("route53")
        client = _boto(svc)
        zone_id = svc["hosted_zones"][zone]
        page = client.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name, StartRecordType="MX",
                                                MaxItems="1")["ResourceRecordSets"][0]
        client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": dict(page, ResourceRecords=page["ResourceRecords"] +
                                                           [{"Value": value}])}]})
    elif provider == "cloudflare":
        svc = lab.service("cloudflare")
        pref, exchange = value.split()
        _json(svc["url"] + "/zones/%s/dns_records" % svc["zones"][zone], "POST",
              {"type": "MX", "name": zone, "content": exchange.rstrip("."), "priority": int(pref), "ttl": ttl},
              token=Path(svc["api_token_file"]).read_text().strip())
    elif provider == "azure":
        client = _azure(lab.service("azure"))
        group = lab.service("azure")["zones"][zone]
        current = client.record_sets.get(group, zone, "@", "MX")
        import azure.mgmt.dns.models as models
        pref, exchange = value.split()
        current.mx_records.append(models.MxRecord(preference=int(pref), exchange=exchange.rstrip(".")))
        # A colleague's write without If-Match, as the portal and most tools send it.
        client.record_sets.create_or_update(group, zone, "@", "MX", current)
    elif provider == "google_cloud_dns":
        svc = lab.service("google_cloud_dns")
        service = _cloud_dns(svc)
        managed = svc["zones"][zone]
        [current] = service.resourceRecordSets().list(project=svc["project"], managedZone=managed, name=name,
                                                       type="MX").execute()["rrsets"]
        service.changes().create(project=svc["project"], managedZone=managed, body={
            "deletions": [current], "additions": [dict(current, rrdatas=current["rrdatas"] + [value])]}).execute()
    else:
        svc = lab.service("powerdns")
        key = Path(svc["api_key_file"]).read_text().strip()
        base = svc["url"] + "/api/v1/servers/localhost/zones/%s." % zone
        current = [r for r in _json(base + "?rrset_name=%s&rrset_type=MX" % name, key=key)["rrsets"]][0]
        records = current["records"] + [{"content": value, "disabled": False}]
        _json(base, "PATCH", {"rrsets": [{"name": name, "type": "MX", "ttl": current["ttl"], "changetype": "REPLACE",
                                          "records": records}]}, key=key)


def _azure(svc):
    from azure.identity import ClientSecretCredential
    from azure.mgmt.dns import DnsManagementClient
    credential = ClientSecretCredential(svc["tenant_id"], svc["client_id"],
                                        Path(svc["client_secret_file"]).read_text().strip(),
                                        authority=svc["authority_host"], disable_instance_discovery=True,
                                        connection_verify=svc["ca"])
    return DnsManagementClient(credential, svc["subscription_id"], base_url=svc["resource_manager_url"],
                               credential_scopes=["https://management.azure.com/.default"],
                               connection_verify=svc["ca"])


def _cloud_dns(svc):
    import google_auth_httplib2
    import httplib2
    from google.oauth2 import service_account
    from googleapiclient import discovery
    creds = service_account.Credentials.from_service_account_file(
        svc["service_account_file"], scopes=["https://www.googleapis.com/auth/ndev.clouddns.readwrite"])
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(ca_certs=svc["ca"]))
    return discovery.build("dns", "v1", http=http, static_discovery=True, cache_discovery=False,
                           client_options={"api_endpoint": svc["api_endpoint"]})


def _boto(svc):
    import boto3
    return boto3.session.Session(aws_access_key_id=svc["aws_access_key_id"],
                                 aws_secret_access_key=Path(svc["secret_key_file"]).read_text().strip()).client(
        "route53", region_name="us-east-1", endpoint_url=svc["url"])


def _json(url, method="GET", body=None, token=None, key=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if key:
        headers["X-API-Key"] = key
    req = urllib.request.Request(url, method=method, headers=headers,
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=10) as resp:
        data = resp.read()
        return json.loads(data) if data else None
