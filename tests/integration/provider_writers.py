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
    else:
        svc = lab.service("powerdns")
        key = Path(svc["api_key_file"]).read_text().strip()
        base = svc["url"] + "/api/v1/servers/localhost/zones/%s." % zone
        current = [r for r in _json(base + "?rrset_name=%s&rrset_type=MX" % name, key=key)["rrsets"]][0]
        records = current["records"] + [{"content": value, "disabled": False}]
        _json(base, "PATCH", {"rrsets": [{"name": name, "type": "MX", "ttl": current["ttl"], "changetype": "REPLACE",
                                          "records": records}]}, key=key)


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
