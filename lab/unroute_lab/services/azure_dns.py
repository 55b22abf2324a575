"""An Azure DNS emulator (Resource Manager, api-version 2018-05-01) with its Entra ID token endpoint, written
from Microsoft's public REST reference (learn.microsoft.com/rest/api/dns: Zones, Record Sets).

One HTTPS listener (lab CA) serves:

  GET  /{tenant}/v2.0/.well-known/openid-configuration         tenant discovery (msal)
  POST /{tenant}/oauth2/v2.0/token                             client_credentials (secret or certificate)
  GET  /subscriptions/{sub}/providers/Microsoft.Network/dnszones                     zones, paged (nextLink)
  GET  /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/dnsZones  a group's zones, paged
  GET  /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/dnsZones/{zone}
  GET  .../dnsZones/{zone}/recordsets and .../dnsZones/{zone}/all                  every record set, paged
  GET  .../dnsZones/{zone}/{type}                                                    record sets of a type, paged
  GET|PUT|PATCH|DELETE .../dnsZones/{zone}/{type}/{relative name}                    one record set
  GET  .../dnsZones/{zone}/providers/Microsoft.Authorization/permissions             the caller's permissions on
                                                                                     the zone (2022-04-01)

Every zone holds the SOA and apex NS record sets Azure creates with it (a new zone counts two record sets).
Lists take ``$top`` (default 100) and ``$recordsetnamesuffix`` and page with ``nextLink`` (``$skipToken``). A
record type outside the API's enum answers 404 InvalidResourceType, as Resource Manager answers a resource type
it does not know; a type the API knows but the lab does not hold (CAA, SRV...) lists empty and refuses writes.
Zone and record set names are case-insensitive and come back in lower case, whatever case the URL used.

Record sets carry an ``etag`` (a fresh GUID at every change). A PUT/PATCH/DELETE with ``If-Match`` whose etag
is not the current one answers 412 PreconditionFailed, a PUT with ``If-None-Match: *`` on an existing set
412 too; errors use the ARM envelope ``{"error": {"code", "message"}}``. Tokens are the lab's signed JWTs for
audience https://management.azure.com; a missing/invalid one answers 401 (AuthenticationFailed /
InvalidAuthenticationToken) with a WWW-Authenticate header, as ARM does.

The lab's identity holds DNS Zone Contributor on every zone, or Reader on a zone whose estate entry says
``dns: {azure_role: reader}``: the permissions list (``{"value": [{"actions", "notActions", "dataActions",
"notDataActions"}]}``, Permissions - List For Resource) shows the role's actions, and a write to a Reader's zone
answers 403 AuthorizationFailed.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from .base import Budget, LabHandler
from pathlib import Path

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from .exo_auth import AppRegistration, AuthError, TokenSigner
from .hosted_dns import HostedDnsService, dump_lines, rrsets

ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
API_VERSIONS = ("2018-05-01", "2023-07-01-preview")
# Microsoft.Authorization's api-version for the permissions list.
AUTHZ_VERSIONS = ("2022-04-01",)
# The built-in roles' actions (DNS Zone Contributor, Reader), as their role definitions list them.
ROLE_ACTIONS = {
    "contributor": ["Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Network/dnsZones/*",
                    "Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*",
                    "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"],
    "reader": ["*/read"],
}
PAGE = 100
_FIELDS = {"MX": "MXRecords", "TXT": "TXTRecords", "NS": "NSRecords", "A": "ARecords", "AAAA": "AAAARecords",
           "CNAME": "CNAMERecord", "SOA": "SOARecord"}
# The RecordType enum of the REST reference (2018-05-01; the preview adds DS, NAPTR and TLSA).
RECORD_TYPES = {"2018-05-01": ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT")}
RECORD_TYPES["2023-07-01-preview"] = RECORD_TYPES["2018-05-01"] + ("DS", "NAPTR", "TLSA")
# What Azure puts in the SOA of a new zone (host is the zone's first name server).
SOA_DEFAULTS = {"email": "azuredns-hostmaster.microsoft.com", "serialNumber": 1, "refreshTime": 3600,
                "retryTime": 300, "expireTime": 2419200, "minimumTTL": 300}


class ArmError(Exception):
    def __init__(self, status, code, message, wait=None):
        super().__init__(message)
        self.status, self.code, self.message, self.wait = status, code, message, wait


def properties_of(rdtype, values):
    """Record-set properties for presentation values of the estate."""
    if rdtype == "MX":
        return {"MXRecords": [{"preference": int(v.split()[0]), "exchange": v.split()[1].rstrip(".")}
                              for v in values]}
    if rdtype == "TXT":
        return {"TXTRecords": [{"value": [s.decode() for s in dns.rdata.from_text(
            dns.rdataclass.IN, dns.rdatatype.TXT, v).strings]} for v in values]}
    if rdtype == "NS":
        return {"NSRecords": [{"nsdname": v.rstrip(".")} for v in values]}
    if rdtype == "CNAME":
        return {"CNAMERecord": {"cname": values[0].rstrip(".")}}
    if rdtype in ("A", "AAAA"):
        key = "ipv4Address" if rdtype == "A" else "ipv6Address"
        return {_FIELDS[rdtype]: [{key: v} for v in values]}
    raise ArmError(400, "BadRequest", "Record type %s is not supported by the lab." % rdtype)


def presentation(rdtype, props):
    if rdtype == "MX":
        return ["%d %s." % (r["preference"], r["exchange"].rstrip(".")) for r in props.get("MXRecords") or []]
    if rdtype == "TXT":
        from dns.rdtypes.ANY.TXT import TXT
        return [TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [s.encode() for s in r["value"]]).to_text()
                for r in props.get("TXTRecords") or []]
    if rdtype == "NS":
        return [r["nsdname"].rstrip(".") + "." for r in props.get("NSRecords") or []]
    if rdtype == "CNAME":
        return [props["CNAMERecord"]["cname"].rstrip(".") + "."] if props.get("CNAMERecord") else []
    if rdtype == "SOA":
        soa = props["SOARecord"]
        return ["%s. %s. %d %d %d %d %d" % (soa["host"].rstrip("."), soa["email"].rstrip("."), soa["serialNumber"],
                                            soa["refreshTime"], soa["retryTime"], soa["expireTime"],
                                            soa["minimumTTL"])] if props.get("SOARecord") else []
    key = "ipv4Address" if rdtype == "A" else "ipv6Address"
    return [r[key] for r in props.get(_FIELDS.get(rdtype, "")) or []]


class AzureDnsService(HostedDnsService):
    name = "azure"

    def start(self):
        self.dir = Path(self.ctx.dir) / "azure"
        self.tenant_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "tenant.azure-dns.lab"))
        self.subscription_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "subscription.azure-dns.lab"))
        self.app = AppRegistration(self.dir, "azure-dns", str(uuid.uuid5(uuid.NAMESPACE_DNS, "app.azure-dns.lab")))
        self.zones = {}   # zone name -> {"group", "sets": {(TYPE, relative): record set}}
        self.pages = {}
        for domain in self.domains():
            self.create_zone(domain)
        port = self.serve_https(_Handler, "azure")
        self.base = "https://127.0.0.1:%d" % port
        self.signer = TokenSigner(self.base)
        return {"url": self.base, "endpoint": self.base, "authority_host": self.base,
                "resource_manager_url": self.base, "ca": str(self.ctx.pki.ca_path),
                "tenant_id": self.tenant_id, "subscription_id": self.subscription_id,
                "client_id": self.app.client_id, "client_secret_file": str(self.app.secret_path),
                "certificate_path": str(self.app.pem_path),
                "zones": {name: z["group"] for name, z in self.zones.items()}}

    def create_zone(self, domain):
        group = str(domain.dns.get("resource_group") or "rg-dns")
        zone = {"name": domain.name.lower(), "group": group, "sets": {}, "etag": str(uuid.uuid4()),
                "role": str(domain.dns.get("azure_role") or "contributor")}
        # Azure creates both with every zone; they are there whatever the estate lists.
        nameservers = list(domain.nameservers) or ["ns1-01.azure-dns.com."]
        self._store(zone, "NS", "@", 172800, properties_of("NS", nameservers))
        self._store(zone, "SOA", "@", 3600, {"SOARecord": dict(SOA_DEFAULTS, host=nameservers[0].rstrip("."))})
        for name, rdtype, ttl, values in rrsets(domain):
            self._store(zone, rdtype, self.relative(zone, name), ttl, properties_of(rdtype, values))
        self.zones[zone["name"]] = zone

    @staticmethod
    def relative(zone, name):
        name = name.rstrip(".").lower()
        return "@" if name == zone["name"] else name[:-len(zone["name"]) - 1]

    def _store(self, zone, rdtype, relative, ttl, props, metadata=None):
        record_set = {"name": relative, "type": "Microsoft.Network/dnszones/%s" % rdtype,
                      "etag": str(uuid.uuid4()), "properties": dict(props, TTL=int(ttl), metadata=metadata or {})}
        zone["sets"][(rdtype, relative.lower())] = record_set
        return record_set

    def resource(self, zone, rdtype, record_set):
        rel = record_set["name"]
        fqdn = (zone["name"] if rel == "@" else "%s.%s" % (rel, zone["name"])) + "."
        rid = ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/dnszones/%s/%s/%s"
               % (self.subscription_id, zone["group"], zone["name"], rdtype, rel))
        props = dict(record_set["properties"], fqdn=fqdn, provisioningState="Succeeded")
        return {"id": rid, "name": rel, "type": record_set["type"], "etag": record_set["etag"], "properties": props}

    def zone_resource(self, zone):
        return {"id": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/dnszones/%s"
                      % (self.subscription_id, zone["group"], zone["name"]),
                "name": zone["name"], "type": "Microsoft.Network/dnszones", "location": "global",
                "etag": zone["etag"], "tags": {},
                "properties": {"maxNumberOfRecordSets": 10000, "numberOfRecordSets": len(zone["sets"]),
                               "nameServers": [r["nsdname"] for r in zone["sets"].get(("NS", "@"), {}).get(
                                   "properties", {}).get("NSRecords", [])], "zoneType": "Public"}}

    def records(self, zone):
        item = self.zones[zone]
        out = []
        for (rdtype, rel), record_set in item["sets"].items():
            if rel == "@" and rdtype in ("NS", "SOA"):
                continue
            name = (zone if rel == "@" else "%s.%s" % (rel, zone)) + "."
            out.append((name, rdtype, record_set["properties"]["TTL"], presentation(rdtype, record_set["properties"])))
        return dump_lines(out)

    def host_vars(self, domain):
        if domain.dns_provider != self.provider:
            return {}
        return {"unroute_dns_provider": "azure", "unroute_dns_azure_subscription_id": self.subscription_id,
                "unroute_dns_azure_tenant_id": self.tenant_id, "unroute_dns_azure_client_id": self.app.client_id,
                "unroute_dns_azure_client_secret": "{{ lookup('ansible.builtin.file', '%s') }}"
                                                   % self.app.secret_path,
                "unroute_dns_azure_authority_host": self.base, "unroute_dns_azure_resource_manager_url": self.base,
                "unroute_dns_ca_path": str(self.ctx.pki.ca_path)}


class _Handler(LabHandler):
    json_type = "application/json; charset=utf-8"

    def common_headers(self):
        return [("x-ms-request-id", str(uuid.uuid4()))]

    remaining = None

    def _reply(self, status, body=None, headers=None):
        headers = dict(headers or {})
        if self.remaining:
            headers.setdefault(*self.remaining)
        self.send_json(status, body, headers)

    def _error(self, err, headers=None):
        self._reply(err.status, {"error": {"code": err.code, "message": err.message}}, headers)

    def _handle(self):
        self.remaining = None
        parts, query = self.split_path()
        raw = self.read_body()
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"] and self.command == "GET":
            return self._openid(parts[0])
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and self.command == "POST":
            return self._token(parts[0], raw)
        try:
            fault = self.svc.take_fault("429")
            if fault:
                raise ArmError(429, "TooManyRequests", "The request is being throttled.")
            principal = self._authenticate()
            budget = self.svc.budget
            if budget is not None:
                write = self.command != "GET"
                account = (parts[1] if len(parts) > 1 else "", principal)
                wait = budget.take(account, write)
                self.remaining = ("x-ms-ratelimit-remaining-subscription-%s" % ("writes" if write else "reads"),
                                  str(budget.remaining(account, write)))
                if wait is not None:
                    # "the HTTP status code 429 Too many requests ... includes a Retry-After value"
                    # (Azure Resource Manager: request limits and throttling).
                    raise ArmError(429, "TooManyRequests", "The request is being throttled.", wait)
            versions = AUTHZ_VERSIONS if "microsoft.authorization" in [p.lower() for p in parts] else API_VERSIONS
            if query.get("api-version") not in versions:
                raise ArmError(400, "InvalidApiVersionParameter" if "api-version" in query else
                               "MissingApiVersionParameter", "The api-version '%s' is invalid." %
                               query.get("api-version", ""))
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                             "deserialized.")
            with self.svc.lock:
                return self._route(parts, query, body)
        except ArmError as err:
            headers = {"Retry-After": Budget.seconds(err.wait) if err.wait else "0"} if err.status == 429 else None
            if err.status == 401:
                headers = {"WWW-Authenticate": 'Bearer authorization_uri="%s/%s", error="invalid_token"'
                                               % (self.svc.base, self.svc.tenant_id)}
            return self._error(err, headers)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST = _handle

    # -- identity --------------------------------------------------------------
    def _openid(self, name):
        svc = self.svc
        if name not in (svc.tenant_id, "organizations", "common"):
            err = AuthError(400, "invalid_tenant", 90002, "Tenant '%s' not found. Check to make sure you have the "
                            "correct tenant ID and are signing into the correct cloud." % name)
            return self._reply(err.status, err.body())
        base = "%s/%s" % (svc.base, name)
        return self._reply(200, {"token_endpoint": base + "/oauth2/v2.0/token",
                                 "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                                           "client_secret_basic"],
                                 "jwks_uri": "%s/%s/discovery/v2.0/keys" % (svc.base, svc.tenant_id),
                                 "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                                 "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
                                 "issuer": "%s/%s/v2.0" % (svc.base, svc.tenant_id),
                                 "response_types_supported": ["code", "id_token"],
                                 "subject_types_supported": ["pairwise"],
                                 "id_token_signing_alg_values_supported": ["RS256"]})

    def _token(self, name, raw):
        svc = self.svc
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}
        try:
            if name != svc.tenant_id:
                raise AuthError(400, "invalid_tenant", 90002, "Tenant '%s' not found. Check to make sure you have "
                                "the correct tenant ID and are signing into the correct cloud." % name)
            if form.get("grant_type") != "client_credentials":
                raise AuthError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                                "'%s'." % form.get("grant_type"))
            if form.get("client_id") != svc.app.client_id:
                raise AuthError(400, "unauthorized_client", 700016, "Application with identifier '%s' was not "
                                "found in the directory '%s'." % (form.get("client_id"), name))
            scope = form.get("scope", "")
            resource = scope[:-len("/.default")].rstrip("/") if scope.endswith("/.default") else None
            if resource not in ARM_AUDIENCES:
                raise AuthError(400, "invalid_scope", 500011, "The resource principal named %s was not found in "
                                "the tenant named %s." % (resource or scope, name))
            if form.get("client_assertion"):
                audiences = {"%s/%s/oauth2/v2.0/token" % (svc.base, svc.tenant_id)}
                with svc.lock:
                    svc.app.check_assertion(form["client_assertion"], audiences)
            elif form.get("client_secret"):
                svc.app.check_secret(form["client_secret"])
            else:
                raise AuthError(401, "invalid_client", 7000218, "The request body must contain the following "
                                "parameter: 'client_assertion' or 'client_secret'.")
        except AuthError as err:
            return self._reply(err.status, err.body())
        token = svc.signer.issue(svc.tenant_id, svc.app.client_id, resource, [])
        return self._reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                 "access_token": token})

    def _authenticate(self):
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                                                        "missing.")
        try:
            claims = self.svc.signer.check(header[7:].strip())
        except ValueError as err:
            code = "ExpiredAuthenticationToken" if str(err) == "expired" else "InvalidAuthenticationToken"
            raise ArmError(401, code, "The access token is invalid.")
        if claims.get("aud") not in ARM_AUDIENCES:
            raise ArmError(401, "InvalidAuthenticationTokenAudience", "The access token has been obtained for "
                                                                      "wrong audience or resource.")
        return claims.get("oid") or claims.get("appid") or claims.get("sub")

    # -- Resource Manager ------------------------------------------------------
    def _route(self, parts, query, body):
        svc = self.svc
        if len(parts) < 2 or parts[0].lower() != "subscriptions" or parts[1] != svc.subscription_id:
            raise ArmError(404, "SubscriptionNotFound", "The subscription '%s' could not be found."
                           % (parts[1] if len(parts) > 1 else ""))
        rest = [p.lower() for p in parts[2:]]
        if rest == ["providers", "microsoft.network", "dnszones"] and self.command == "GET":
            return self._page(sorted(svc.zones.values(), key=lambda z: z["name"]), query, svc.zone_resource)
        if (len(rest) == 5 and rest[0] == "resourcegroups" and rest[2:] == ["providers", "microsoft.network",
                                                                            "dnszones"] and self.command == "GET"):
            zones = [z for z in svc.zones.values() if z["group"].lower() == rest[1]]
            return self._page(sorted(zones, key=lambda z: z["name"]), query, svc.zone_resource)
        if len(rest) < 6 or rest[0] != "resourcegroups" or rest[2:5] != ["providers", "microsoft.network",
                                                                          "dnszones"]:
            raise ArmError(404, "InvalidResourceType", "The resource type could not be found in the namespace.")
        group, zone_name = parts[3], parts[7].lower().rstrip(".")
        zone = svc.zones.get(zone_name)
        if zone is None or zone["group"].lower() != group.lower():
            code = "ResourceNotFound" if len(rest) == 6 else "ParentResourceNotFound"
            raise ArmError(404, code, "The Resource 'Microsoft.Network/dnszones/%s' under resource group '%s' was "
                                      "not found." % (zone_name, group))
        if len(rest) == 6:
            if self.command != "GET":
                raise ArmError(405, "MethodNotAllowed", "The lab holds the estate's zones; it does not %s a zone."
                               % self.command)
            return self._reply(200, svc.zone_resource(zone))
        if rest[6:] == ["providers", "microsoft.authorization", "permissions"] and self.command == "GET":
            return self._reply(200, {"value": [{"actions": ROLE_ACTIONS[zone["role"]], "notActions": [],
                                                "dataActions": [], "notDataActions": []}]})
        if len(rest) > 8:
            raise ArmError(404, "NotFound", "No route for %s." % urllib.parse.urlsplit(self.path).path)
        segment = parts[8]
        if len(rest) == 7 and segment.lower() in ("recordsets", "all"):
            if self.command != "GET":
                raise ArmError(405, "MethodNotAllowed", "The method %s is not allowed here." % self.command)
            sets = sorted(zone["sets"].items(), key=lambda item: (item[0][1] != "@", item[0][1], item[0][0]))
            return self._page(self._suffixed(sets, query), query, lambda item: svc.resource(zone, *item))
        rdtype = segment.upper()
        if rdtype not in RECORD_TYPES[query["api-version"]]:
            raise ArmError(404, "InvalidResourceType", "The resource type 'dnszones/%s' could not be found in the "
                                                       "namespace 'Microsoft.Network' for api version '%s'."
                           % (segment, query["api-version"]))
        if len(rest) == 7:
            if self.command != "GET":
                raise ArmError(405, "MethodNotAllowed", "The method %s is not allowed here." % self.command)
            sets = [item for item in sorted(zone["sets"].items(), key=lambda item: item[0][1]) if item[0][0] == rdtype]
            return self._page(self._suffixed(sets, query), query, lambda item: svc.resource(zone, *item))
        return self._record_set(zone, rdtype, parts[9], body)

    @staticmethod
    def _suffixed(sets, query):
        """(type, record set) pairs, those ending in ``.<$recordsetnamesuffix>`` when it is given."""
        suffix = {k.lower(): v for k, v in query.items()}.get("$recordsetnamesuffix")
        out = [((key[0], record_set)) for key, record_set in sets]
        if suffix:
            suffix = "." + suffix.strip(".").lower()
            out = [item for item in out if item[1]["name"].lower().endswith(suffix)]
        return out

    def _record_set(self, zone, rdtype, relative, body):
        svc = self.svc
        key = (rdtype, relative.lower())
        current = zone["sets"].get(key)
        if_match = self.headers.get("If-Match")
        if_none = self.headers.get("If-None-Match")
        if self.command == "GET":
            if current is None:
                raise ArmError(404, "NotFound", "The resource record '%s' does not exist in resource group '%s' of "
                                                "subscription '%s'." % (relative, zone["group"], svc.subscription_id))
            return self._reply(200, svc.resource(zone, rdtype, current))
        if zone["role"] != "contributor":
            raise ArmError(403, "AuthorizationFailed", "The client '%s' does not have authorization to perform "
                           "action 'Microsoft.Network/dnszones/%s/%s' over scope '%s' or the scope is invalid."
                           % (svc.app.client_id, rdtype, "delete" if self.command == "DELETE" else "write",
                              svc.zone_resource(zone)["id"]))
        if if_match is not None and if_match != "*" and (current is None or current["etag"] != if_match):
            raise ArmError(412, "PreconditionFailed", "The condition '%s' in the If-Match header was not satisfied. "
                                                      "The current was '%s'." % (if_match, current["etag"] if current
                                                                                 else "n/a"))
        if if_match == "*" and current is None:
            raise ArmError(412, "PreconditionFailed", "The record set does not exist (If-Match: *).")
        if self.command == "DELETE":
            if current is None:
                return self._reply(204)
            if rdtype == "SOA" or (rdtype == "NS" and relative == "@"):
                raise ArmError(400, "BadRequest", "The record set of type %s at the apex cannot be deleted." % rdtype)
            del zone["sets"][key]
            zone["etag"] = str(uuid.uuid4())
            return self._reply(200)
        if self.command in ("PUT", "PATCH"):
            if self.command == "PUT" and if_none == "*" and current is not None:
                raise ArmError(412, "PreconditionFailed", "The record set '%s' of type %s already exists "
                                                          "(If-None-Match: *)." % (relative, rdtype))
            if self.command == "PATCH" and current is None:
                raise ArmError(404, "NotFound", "The resource record '%s' does not exist." % relative)
            if rdtype not in _FIELDS:
                raise ArmError(400, "BadRequest", "Record type %s is not supported by the lab." % rdtype)
            if rdtype == "SOA" and (relative != "@" or current is None):
                raise ArmError(400, "BadRequest", "The SOA record set exists only at the zone apex, and only once.")
            props = body.get("properties") or {}
            merged = dict(current["properties"]) if self.command == "PATCH" else {}
            merged.update(props)
            records = {k: v for k, v in merged.items() if k in _FIELDS.values()}
            for field in records:
                if field != _FIELDS.get(rdtype):
                    raise ArmError(400, "BadRequest", "The record set of type %s cannot hold %s." % (rdtype, field))
            ttl = merged.get("TTL")
            if ttl is None or not 0 <= int(ttl) <= 2147483647:
                raise ArmError(400, "BadRequest", "The TTL of a record set is required.")
            if rdtype == "TXT":
                for record in merged.get("TXTRecords") or []:
                    if any(len(s.encode()) > 1024 for s in record.get("value") or []):
                        raise ArmError(400, "BadRequest", "A TXT record string may not exceed 1024 characters.")
            try:
                presentation(rdtype, records)
            except (KeyError, TypeError, ValueError, AttributeError):
                raise ArmError(400, "BadRequest", "The records of the record set are not valid.")
            stored = svc._store(zone, rdtype, relative.lower() if relative != "@" else "@", ttl, records,
                                merged.get("metadata"))
            zone["etag"] = str(uuid.uuid4())
            return self._reply(201 if current is None else 200, svc.resource(zone, rdtype, stored))
        raise ArmError(405, "MethodNotAllowed", "The method %s is not allowed here." % self.command)

    def _page(self, items, query, render):
        # Resource Manager reads query parameter names without regard to case ($skipToken, $skiptoken).
        query = {k.lower(): v for k, v in query.items()}
        try:
            top = int(query.get("$top", PAGE))
            offset = int(query.get("$skiptoken", 0))
        except ValueError:
            raise ArmError(400, "BadRequest", "Invalid paging parameters.")
        if top < 1:
            raise ArmError(400, "BadRequest", "The value of $top must be greater than 0.")
        chunk = items[offset:offset + top]
        body = {"value": [render(i) for i in chunk]}
        if offset + top < len(items):
            parts = urllib.parse.urlsplit(self.path)
            pairs = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k.lower() != "$skiptoken"]
            body["nextLink"] = "%s%s?%s" % (self.svc.base, parts.path,
                                            urllib.parse.urlencode(pairs + [("$skipToken", str(offset + top))]))
        return self._reply(200, body)
