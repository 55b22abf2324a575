"""Route 53 for the lab: moto_server (package moto[server]) behind a thin strict layer of ours.

moto 5.2.5 checks a DELETE in a ChangeBatch only against value sets it has seen written, not against the
current RRset, so a stale DELETE+CREATE after a concurrent change is accepted there and the other writer's
record is lost. AWS refuses such a batch (400 InvalidChangeBatch, "... but the values provided do not match
the current values"); the layer does the same before handing the batch to moto, one batch at a time. moto
also refuses a valid DELETE+CREATE that re-creates a set identical to one it created before (its journal),
which AWS accepts; the layer checks CREATEs itself and hands them to moto as UPSERTs. It also
checks SigV4 signatures against the lab's key pair, as AWS does (moto accepts any), and can throttle
(Throttling / PriorRequestNotComplete) as a switchable fault.
"""

from __future__ import annotations

import hashlib
import http.client
import hmac
import os
import re
import secrets
import string
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from ..ports import free_port
from .base import Budget, LabHandler
from .hosted_dns import HostedDnsService, dump_lines, rrsets

NS = "https://route53.amazonaws.com/doc/2013-04-01/"
_RRSET_PATH = re.compile(r"^/2013-04-01/hostedzone/([^/]+)/rrset/?$")
_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/([^/]+)/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]+)")


def error_xml(code, message):
    return ('<?xml version="1.0"?>\n<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code>'
            '<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>'
            % (NS, code, escape(message), uuid.uuid4())).encode()


class Route53Service(HostedDnsService):
    name = "route53"

    def start(self):
        self.dir = self.workdir()
        self.batch_lock = threading.Lock()
        self.access_key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
        self.secret_key = secrets.token_urlsafe(30)[:40]
        self.secret_file = self.dir / "aws_secret_access_key"
        fd = os.open(str(self.secret_file), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.secret_key + "\n")
        self.credentials_file = self.dir / "credentials"
        fd = os.open(str(self.credentials_file), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                         % (self.access_key, self.secret_key))
        self.moto_port = free_port()
        self.log = open(self.dir / "moto.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1", "-p",
             str(self.moto_port)], stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.moto_url = "http://127.0.0.1:%d" % self.moto_port
        self._wait()
        self.moto = self._client(self.moto_url)
        self.zone_ids = {}
        for domain in self.domains():
            self.create_zone(domain)
        self.url = "http://127.0.0.1:%d" % self.serve_http(_StrictLayer)
        return {"url": self.url, "endpoint": self.url, "moto_url": self.moto_url, "region": "us-east-1",
                "aws_access_key_id": self.access_key, "secret_key_file": str(self.secret_file),
                "credentials_file": str(self.credentials_file), "hosted_zones": dict(self.zone_ids),
                "zones": sorted(self.zone_ids)}

    def _wait(self, timeout=30.0):
        self.wait_answering(lambda: urllib.request.urlopen(self.moto_url + "/moto-api/", timeout=2).read(),
                            "moto_server", timeout)

    def _client(self, url):
        import boto3
        import botocore.config
        return boto3.session.Session(aws_access_key_id="lab", aws_secret_access_key="lab").client(
            "route53", region_name="us-east-1", endpoint_url=url,
            config=botocore.config.Config(retries={"total_max_attempts": 1}))

    def create_zone(self, domain):
        zone = self.moto.create_hosted_zone(Name=domain.name + ".", CallerReference=uuid.uuid4().hex)
        zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
        self.zone_ids[domain.name] = zone_id
        changes = [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": name, "Type": rdtype, "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values]}}
            for name, rdtype, ttl, values in rrsets(domain)]
        # Route 53 takes at most 1,000 changes a batch (moto enforces it too): a large zone is seeded in parts.
        for start in range(0, len(changes), 500):
            self.moto.change_resource_record_sets(HostedZoneId=zone_id,
                                                  ChangeBatch={"Changes": changes[start:start + 500]})

    def current(self, zone_id, name, rdtype):
        """(ttl, sorted values) of an RRset as moto holds it now, or None."""
        page = self.moto.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name,
                                                   StartRecordType=rdtype, MaxItems="1")
        for rrset in page.get("ResourceRecordSets", []):
            if rrset["Name"].lower().rstrip(".") == name.lower().rstrip(".") and rrset["Type"] == rdtype:
                return rrset.get("TTL"), sorted(r["Value"] for r in rrset.get("ResourceRecords", []))
        return None

    def records(self, zone):
        zone_id = self.zone_ids[zone]
        items, kwargs = [], {}
        while True:
            page = self.moto.list_resource_record_sets(HostedZoneId=zone_id, **kwargs)
            for rrset in page["ResourceRecordSets"]:
                if rrset["Type"] in ("SOA", "NS") and rrset["Name"].lower() == zone + ".":
                    continue
                items.append((rrset["Name"], rrset["Type"], rrset.get("TTL", 0),
                              [r["Value"] for r in rrset.get("ResourceRecords", [])]))
            if not page.get("IsTruncated"):
                return dump_lines(items)
            kwargs = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}

    def host_vars(self, domain):
        if domain.dns_provider != self.provider:
            return {}
        return {"unroute_dns_provider": "route53", "unroute_dns_aws_endpoint_url": self.url,
                "unroute_dns_aws_access_key": self.access_key,
                "unroute_dns_aws_secret_key": "{{ lookup('ansible.builtin.file', '%s') }}" % self.secret_file}

    def stop(self):
        super().stop()
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    # -- what AWS checks and moto does not ---------------------------------------------------------
    def verify_signature(self, method, path, query, headers, body):
        """None when the request is signed with the lab's key pair, else (code, message) as AWS answers."""
        match = _AUTH.match(headers.get("Authorization") or "")
        if not match:
            return ("MissingAuthenticationToken", "Missing Authentication Token")
        key_id, day, region, service, signed, signature = match.groups()
        if key_id != self.access_key:
            return ("InvalidClientTokenId", "The security token included in the request is invalid.")
        amz_date = headers.get("X-Amz-Date") or ""
        canonical_headers = "".join("%s:%s\n" % (h, " ".join((headers.get(h) or "").split()))
                                    for h in signed.split(";"))
        pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
        canonical_query = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                                   for k, v in pairs)
        canonical = "\n".join([method, urllib.parse.quote(path, safe="/~"), canonical_query, canonical_headers,
                               signed, hashlib.sha256(body).hexdigest()])
        scope = "%s/%s/%s/aws4_request" % (day, region, service)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.secret_key).encode()
        for part in (day, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                    "you provided. Check your AWS Secret Access Key and signing method.")
        return None

    def refused_change(self, zone_id, body):
        """The AWS message for the first change of the batch that AWS would refuse against the current
        RRsets (a DELETE whose values are not the current ones, a CREATE of a set that exists and is not
        deleted in the same batch), or None."""
        root = ET.fromstring(body)
        deleted = set()
        for change in root.iter("{%s}Change" % NS):
            action = change.findtext("{%s}Action" % NS)
            rrset = change.find("{%s}ResourceRecordSet" % NS)
            name = rrset.findtext("{%s}Name" % NS).rstrip(".").lower() + "."
            rdtype = rrset.findtext("{%s}Type" % NS)
            now = self.current(zone_id, name, rdtype)
            if action == "DELETE":
                ttl = rrset.findtext("{%s}TTL" % NS)
                values = sorted(v.text or "" for v in rrset.iter("{%s}Value" % NS))
                if now is None or now[1] != values or (ttl is not None and now[0] != int(ttl)):
                    return ("Tried to delete resource record set [name='%s', type='%s'] but the values provided "
                            "do not match the current values" % (name, rdtype))
                deleted.add((name, rdtype))
            elif action == "CREATE" and now is not None and (name, rdtype) not in deleted:
                return "Tried to create resource record set [name='%s', type='%s'] but it already exists" % (
                    name, rdtype)
        return None


class _StrictLayer(LabHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self, status, body, headers=()):
        self.send_bytes(status, body, headers=[(k, v) for k, v in headers if k.lower() not in (
            "content-length", "transfer-encoding", "connection", "date", "server")])

    def _handle(self):
        body = self.read_body()
        parsed = urllib.parse.urlsplit(self.path)
        refused = self.svc.verify_signature(self.command, parsed.path, parsed.query, self.headers, body)
        if refused:
            return self._reply(403, error_xml(*refused), [("Content-Type", "text/xml")])
        # "When a request is throttled, Amazon Route 53 returns an HTTP 400 error (Bad request) ... Code
        # Throttling ... Message Rate exceeded" (Throttling for Amazon Route 53 API requests); per account.
        if self.svc.budget is not None and self.svc.budget.take(self.svc.access_key) is not None:
            return self._reply(400, error_xml("Throttling", "Rate exceeded"), [("Content-Type", "text/xml")])
        fault = self.svc.take_fault("throttle", "prior_request")
        if fault:
            code = "Throttling" if fault["kind"] == "throttle" else "PriorRequestNotComplete"
            text = "Rate exceeded" if fault["kind"] == "throttle" else \
                "The request was rejected because Route 53 was still processing a prior request."
            return self._reply(400, error_xml(code, text), [("Content-Type", "text/xml")])
        match = _RRSET_PATH.match(parsed.path)
        if self.command == "POST" and match:
            # One batch at a time: the check and moto's apply must not interleave with another batch.
            with self.svc.batch_lock:
                refused = self.svc.refused_change(match.group(1), body)
                if refused:
                    return self._reply(400, error_xml("InvalidChangeBatch", "[%s]" % refused),
                                       [("Content-Type", "text/xml")])
                # The layer has checked every CREATE as AWS does. moto refuses a CREATE identical to one in
                # its journal while any record of that name exists, even when this very batch deletes it
                # first (a restore re-creating the set as it was), so CREATEs reach moto as UPSERTs.
                return self._forward(body.replace(b"<Action>CREATE</Action>", b"<Action>UPSERT</Action>"))
        return self._forward(body)

    def _forward(self, body):
        # http.client, not urllib: urllib would add a form Content-Type to a bodied request, which changes
        # how moto reads it.
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in ("host", "content-length"))
        headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection("127.0.0.1", self.svc.moto_port, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            return self._reply(resp.status, resp.read(), resp.getheaders())
        finally:
            conn.close()

    do_GET = do_POST = do_DELETE = do_PUT = _handle
