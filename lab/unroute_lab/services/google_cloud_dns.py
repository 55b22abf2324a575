"""A Google Cloud DNS emulator (``dns`` v1) with Google's OAuth token endpoint, written from the v1 discovery
document (shipped in google-api-python-client) and the Cloud DNS reference (cloud.google.com/dns/docs/reference).

One HTTPS listener (lab CA) serves:

  POST /token                                                       JWT-bearer grant of the lab's service account
  GET  /dns/v1/projects/{project}/managedZones[?dnsName=&maxResults=&pageToken=]
  GET  /dns/v1/projects/{project}/managedZones/{zone}
  GET  /dns/v1/projects/{project}/managedZones/{zone}/rrsets[?name=&type=&maxResults=&pageToken=]
  POST /dns/v1/projects/{project}/managedZones/{zone}/changes       additions + deletions, atomically
  GET  /dns/v1/projects/{project}/managedZones/{zone}/changes/{id}

A change is all or nothing. Every deletion must be the record set exactly as it is (name, type, TTL and every
rrdata, in any order): a set that differs answers 412 ``conditionNotMet`` ("Precondition not met for
'entity.change.deletions[i]'"), one that does not exist 404 ``notFound``; an addition whose name and type exist
after the deletions answers 409 ``alreadyExists``. Errors use Google's envelope
``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.parse
from .base import Budget, LabHandler

import dns.rdata
import dns.rdataclass
import dns.rdatatype
from cryptography.hazmat.primitives import serialization

from .. import pki as pki_mod
from . import google_auth as auth
from .hosted_dns import HostedDnsService, dump_lines, rrsets

PROJECT = "unroute-lab-dns"
SA_EMAIL = "unroute-dns@unroute-lab-dns.iam.gserviceaccount.com"
SCOPES = ("https://www.googleapis.com/auth/ndev.clouddns.readwrite",
          "https://www.googleapis.com/auth/ndev.clouddns.readonly",
          "https://www.googleapis.com/auth/cloud-platform",
          "https://www.googleapis.com/auth/cloud-platform.read-only")
WRITE_SCOPES = SCOPES[0], SCOPES[2]
PAGE = 100


class ApiError(Exception):
    def __init__(self, status, reason, message):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message

    def body(self):
        return {"error": {"code": self.status, "message": self.message,
                          "errors": [{"message": self.message, "domain": "global", "reason": self.reason}]}}


def _canonical(rdtype, value):
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), value).to_text()


class GoogleCloudDnsService(HostedDnsService):
    name = "google_cloud_dns"

    def start(self):
        self.dir = self.workdir()
        self.tokens = auth.TokenStore()
        self.zones = {}     # managed zone name -> {"dnsName", "id", "sets": {(name, type): rrset}, "changes"}
        for domain in self.domains():
            self.create_zone(domain)
        port = self.serve_https(_Handler, "google-cloud-dns")
        self.base = "https://127.0.0.1:%d/" % port
        self.token_uri = self.base + "token"
        self._write_key()
        return {"url": self.base, "endpoint": self.base, "api_endpoint": self.base, "token_uri": self.token_uri,
                "ca": str(self.ctx.pki.ca_path), "project": PROJECT, "service_account_file": str(self.sa_path),
                "service_account_email": SA_EMAIL,
                "zones": {z["dnsName"].rstrip("."): name for name, z in self.zones.items()}}

    def _write_key(self):
        self.key = pki_mod.new_key()
        self.service_account = {
            "type": "service_account", "project_id": PROJECT, "private_key_id": secrets.token_hex(20),
            "private_key": pki_mod.key_pem(self.key).decode(), "client_email": SA_EMAIL,
            "client_id": "1" + "".join(str(b % 10) for b in secrets.token_bytes(20)),
            "auth_uri": self.base + "o/oauth2/auth", "token_uri": self.token_uri,
            "universe_domain": "googleapis.com",
        }
        self.sa_path = self.dir / "service-account.json"
        fd = os.open(str(self.sa_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.service_account, handle, indent=2)
        (self.dir / "service-account.pub.pem").write_bytes(self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def create_zone(self, domain):
        # Managed zone names are the user's choice; the lab uses the domain with dashes, as the console suggests.
        name = str(domain.dns.get("managed_zone") or domain.name.replace(".", "-"))
        zone = {"name": name, "dnsName": domain.name + ".", "id": str(int.from_bytes(secrets.token_bytes(7), "big")),
                "nameServers": list(domain.nameservers), "sets": {}, "changes": []}
        apex = domain.name + "."
        zone["sets"][(apex, "SOA")] = self._rrset(apex, "SOA", 21600, [
            "%s cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300" % (domain.nameservers or ["ns."])[0]])
        if domain.nameservers:
            zone["sets"][(apex, "NS")] = self._rrset(apex, "NS", 21600, domain.nameservers)
        for owner, rdtype, ttl, values in rrsets(domain):
            zone["sets"][(owner.lower(), rdtype)] = self._rrset(owner.lower(), rdtype, ttl, values)
        self.zones[name] = zone

    @staticmethod
    def _rrset(name, rdtype, ttl, rrdatas):
        return {"kind": "dns#resourceRecordSet", "name": name, "type": rdtype, "ttl": int(ttl),
                "rrdatas": list(rrdatas)}

    def records(self, zone):
        for item in self.zones.values():
            if item["dnsName"] == zone + ".":
                return dump_lines((s["name"], s["type"], s["ttl"], s["rrdatas"]) for (n, t), s in item["sets"].items()
                                  if not (n == item["dnsName"] and t in ("SOA", "NS")))
        raise KeyError(zone)

    def host_vars(self, domain):
        if domain.dns_provider != self.provider:
            return {}
        return {"unroute_dns_provider": "google_cloud_dns", "unroute_dns_gcp_project": PROJECT,
                "unroute_dns_gcp_service_account_file": str(self.sa_path),
                "unroute_dns_gcp_api_endpoint": self.base, "unroute_dns_ca_path": str(self.ctx.pki.ca_path)}

    # -- token endpoint ----------------------------------------------------------
    def token(self, form):
        if form.get("grant_type") != auth.JWT_BEARER:
            raise auth.OAuthError("unsupported_grant_type", "Invalid grant_type: %s" % form.get("grant_type"))
        public = self.key.public_key()
        dummy, claims = auth.verify_jwt(form.get("assertion") or "", public)
        subject, scopes = auth.check_claims(claims, self.service_account, self.token_uri, SCOPES)
        return self.tokens.issue(subject or SA_EMAIL, PROJECT, scopes)

    # -- changes -------------------------------------------------------------------
    def apply(self, zone, body):
        sets = dict(zone["sets"])
        for index, item in enumerate(body.get("deletions") or []):
            key = (str(item.get("name", "")).lower(), str(item.get("type", "")).upper())
            current = sets.get(key)
            if current is None:
                raise ApiError(404, "notFound", "The resource 'entity.change.deletions[%d]' named '%s (%s)' does not "
                                                "exist." % (index, key[0], key[1]))
            if not self._same(current, item):
                raise ApiError(412, "conditionNotMet", "Precondition not met for 'entity.change.deletions[%d]'"
                               % index)
            del sets[key]
        for index, item in enumerate(body.get("additions") or []):
            key = (str(item.get("name", "")).lower(), str(item.get("type", "")).upper())
            where = "entity.change.additions[%d]" % index
            if not key[0].endswith(zone["dnsName"]) or not item.get("rrdatas"):
                raise ApiError(400, "invalid", "Invalid value for '%s': '%s'" % (where, key[0]))
            if key in sets:
                raise ApiError(409, "alreadyExists", "The resource '%s' named '%s (%s)' already exists"
                               % (where, key[0], key[1]))
            try:
                rrdatas = [_canonical(key[1], v) for v in item["rrdatas"]]
            except Exception:  # noqa: B902 - any parse failure is the client's bad record data
                raise ApiError(400, "invalid", "Invalid value for '%s.rrdata'" % where)
            if key[1] == "TXT" and any(len(s) > 255 for v in rrdatas for s in dns.rdata.from_text(
                    dns.rdataclass.IN, dns.rdatatype.TXT, v).strings):
                raise ApiError(400, "invalid", "Invalid value for '%s.rrdata': a string is over 255 bytes" % where)
            sets[key] = self._rrset(key[0], key[1], int(item.get("ttl") or 300), item["rrdatas"])
        zone["sets"] = sets
        change = {"kind": "dns#change", "id": str(len(zone["changes"]) + 1), "status": "done",
                  "startTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                  "additions": body.get("additions") or [], "deletions": body.get("deletions") or []}
        zone["changes"].append(change)
        return change

    @staticmethod
    def _same(current, item):
        if int(item.get("ttl") or -1) != current["ttl"]:
            return False
        try:
            mine = sorted(_canonical(current["type"], v) for v in current["rrdatas"])
            theirs = sorted(_canonical(current["type"], v) for v in item.get("rrdatas") or [])
        except Exception:  # noqa: B902 - unparsable rrdata never equals a stored record
            return False
        return mine == theirs


class _Handler(LabHandler):
    json_type = "application/json; charset=UTF-8"

    def _reply(self, status, body):
        self.send_json(status, body)

    def _handle(self):
        svc = self.svc
        parts, query = self.split_path()
        raw = self.read_body()
        if parts == ["token"] and self.command == "POST":
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}
            try:
                return self._reply(200, svc.token(form))
            except auth.OAuthError as err:
                return self._reply(err.status, err.body())
        try:
            if svc.take_fault("429"):
                raise ApiError(429, "rateLimitExceeded", "Rate Limit Exceeded")
            grant = svc.tokens.lookup(self.headers.get("Authorization"))
            if grant is None:
                raise ApiError(401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 "
                                                 "access token, login cookie or other valid authentication "
                                                 "credential.")
            if parts[:3] != ["dns", "v1", "projects"] or len(parts) < 5 or parts[4] != "managedZones":
                raise ApiError(404, "notFound", "Not Found")
            if svc.budget is not None:
                # Cloud DNS quotas are per project; over one, Google answers 429 with reason rateLimitExceeded.
                wait = svc.budget.take(parts[3], self.command == "POST")
                if wait is not None:
                    return self.send_json(429, ApiError(429, "rateLimitExceeded", "Rate Limit Exceeded").body(),
                                          {"Retry-After": Budget.seconds(wait)})
            if parts[3] != PROJECT:
                raise ApiError(403, "forbidden", "Forbidden: the caller does not have permission on project '%s'"
                               % parts[3])
            write = self.command == "POST"
            if write and not set(grant["scopes"]) & set(WRITE_SCOPES):
                raise ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise ApiError(400, "parseError", "Parse Error")
            with svc.lock:
                return self._route(parts[5:], query, body)
        except ApiError as err:
            return self._reply(err.status, err.body())

    do_GET = do_POST = _handle

    def _route(self, rest, query, body):
        svc = self.svc
        if not rest and self.command == "GET":
            zones = sorted(svc.zones.values(), key=lambda z: z["name"])
            if query.get("dnsName"):
                wanted = query["dnsName"].lower()
                wanted = wanted if wanted.endswith(".") else wanted + "."
                zones = [z for z in zones if z["dnsName"] == wanted]
            items, token = self._page(zones, query)
            out = {"kind": "dns#managedZonesListResponse", "managedZones": [self._zone(z) for z in items]}
            if token:
                out["nextPageToken"] = token
            return self._reply(200, out)
        zone = svc.zones.get(rest[0])
        if zone is None:
            raise ApiError(404, "notFound", "The 'parameters.managedZone' resource named '%s' does not exist."
                           % rest[0])
        if len(rest) == 1 and self.command == "GET":
            return self._reply(200, self._zone(zone))
        if rest[1:] == ["rrsets"] and self.command == "GET":
            sets = [s for k, s in sorted(zone["sets"].items())]
            if query.get("type") and not query.get("name"):
                raise ApiError(400, "required", "Required value: 'name' must be given with 'type'.")
            if query.get("name"):
                sets = [s for s in sets if s["name"] == query["name"].lower()]
            if query.get("type"):
                sets = [s for s in sets if s["type"] == query["type"].upper()]
            items, token = self._page(sets, query)
            out = {"kind": "dns#resourceRecordSetsListResponse", "rrsets": items}
            if token:
                out["nextPageToken"] = token
            return self._reply(200, out)
        if rest[1:] == ["changes"] and self.command == "POST":
            return self._reply(200, svc.apply(zone, body))
        if len(rest) == 3 and rest[1] == "changes" and self.command == "GET":
            for change in zone["changes"]:
                if change["id"] == rest[2]:
                    return self._reply(200, change)
            raise ApiError(404, "notFound", "The 'parameters.changeId' resource named '%s' does not exist." % rest[2])
        raise ApiError(404, "notFound", "Not Found")

    @staticmethod
    def _zone(zone):
        return {"kind": "dns#managedZone", "name": zone["name"], "dnsName": zone["dnsName"], "id": zone["id"],
                "nameServers": zone["nameServers"], "visibility": "public", "description": "",
                "creationTime": "2026-01-01T00:00:00.000Z"}

    @staticmethod
    def _page(items, query):
        try:
            size = min(int(query.get("maxResults") or PAGE), 1000)
            start = int(query.get("pageToken") or 0)
        except ValueError:
            raise ApiError(400, "invalid", "Invalid value for 'pageToken'")
        chunk = items[start:start + size]
        return chunk, (str(start + size) if start + size < len(items) else None)
