# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS: the provider's read of the zone proves the credentials and that the zone is visible; write permission is
proven only where the provider's API can tell without writing (Cloudflare token permissions, the TSIG key of an
RFC 2136 server, PowerDNS's API key) and said to be unproven elsewhere."""

from __future__ import annotations

import fnmatch

from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._preflight.common import check, failed, options

P = "dns"
# Cloudflare's permission group that lets a token change records (dashboard: Zone > DNS > Edit).
_CF_WRITE = "DNS Write"
_CF_ZONE_RESOURCE = "com.cloudflare.api.account.zone."
_UNPROVEN_WRITE = {
    "route53": "IAM's policy simulator is another API (iam:SimulatePrincipalPolicy) the run's credentials rarely "
               "may call; route53:ChangeResourceRecordSets shows only when the run writes",
    "google_cloud_dns": "the run's service account may lack resourcemanager permissions to test its own; "
                        "dns.changes.create shows only when the run writes",
    "lexicon": "dns-lexicon can list records but has no way to ask a provider for write permission",
}


def probe(domain, given, ctx):
    params, bad = options(domain, P, dns_module.ARGSPEC, given, ctx)
    if bad:
        return [bad]
    zone = params["zone"].rstrip(".")
    kind = params.get("provider") or "rfc2136"
    obj = "zone %s (%s)" % (zone, kind)
    if kind == "manual":
        return [check(P, obj, "record API", True, True, "no record API: the run reads the public DNS and gives "
                      "manual steps for %s" % params.get("dns_host"))]
    checks = []

    def operation(engine):
        provider = engine.provider
        try:
            _find_zone(provider, zone)
            provider.read(zone + ".", "MX")
        except Exception as err:  # every provider failure is one check, never the preflight's end
            checks.append(failed(P, obj, "credentials and zone", _explain(err, params)))
            return {}
        checks.append(check(P, obj, "credentials and zone", True, True, "the credentials read the zone's MX"))
        try:
            checks.extend(_write_permission(kind, provider, obj, params, zone))
        except Exception as err:  # pylint: disable=broad-exception-caught
            # The zone was read: a failed extra question leaves the write permission unknown, nothing more.
            err = _explain(err, params)
            checks.append(check(P, obj, "write permission", True, False, "not proven: %s"
                                % getattr(err, "cause", err), "nothing to do before the run; a refusal then "
                                "names the permission"))
        return {}

    try:
        dns_module.run(_runner.Operation(lambda engine, params, ctx: operation(engine)), dict(params), ctx)
    except UnrouteError as err:
        checks.append(failed(P, obj, "credentials and zone", err))
    return checks


def _find_zone(provider, zone):
    # The zone lookup is named check_zone(zone) or find_zone() depending on the provider contract's version.
    if hasattr(provider, "check_zone"):
        return provider.check_zone(zone)
    return provider.find_zone()


def _explain(err, params):
    # A provider's typed error (an UnrouteError) gets the fix worded for the chosen provider's options.
    try:
        return dns_module.explain(err, params)
    except Exception:  # pylint: disable=broad-exception-caught
        return err


def _write_permission(kind, provider, obj, params, zone):
    if kind == "rfc2136":
        return _rfc2136(provider, obj, params)
    if kind == "cloudflare":
        return _cloudflare(provider, obj, zone)
    if kind == "azure":
        return _azure(provider, obj, params, zone)
    if kind == "powerdns":
        return [check(P, obj, "write permission", True, True, "a PowerDNS API key is not scoped: the key that read "
                      "the zone may change it")]
    return [check(P, obj, "write permission", True, False, "not proven: %s" % _UNPROVEN_WRITE.get(
        kind, "the provider cannot tell without a write"), "nothing to do before the run; a refusal then names "
        "the permission")]


def _rfc2136(provider, obj, params):
    key = params.get("key_name")
    if not key:
        return [check(P, obj, "update permission", True, False, "not proven: updates go unsigned (no key_name); "
                      "only an update shows whether the server accepts them from this address",
                      "give key_name and key_secret if the server's update-policy names a key")]
    # check_zone's SOA query was TSIG-signed and dnspython refuses an answer without a valid TSIG of the same key.
    return [check(P, obj, "TSIG key", True, True, "%s answered a query signed with key '%s' with a valid TSIG"
                  % (getattr(provider, "server", params.get("server")), key)),
            check(P, obj, "update permission", True, False, "not proven: the server's update-policy for key '%s' "
                  "cannot be read over DNS; only an update would show it" % key,
                  "nothing to do before the run; a refusal then names the key and the zone")]


def _get(provider, path, what):
    # The provider's own transport (retry policy, TLS, token): the request is read-only.
    call = getattr(provider, "call", None) or provider.http.call
    return call("GET", path, what)


def _cloudflare(provider, obj, zone):
    status, body = _get(provider, "/user/tokens/verify", "API token")
    result = (body or {}).get("result") or {}
    if status in (401, 403) or (status == 200 and result.get("status") != "active"):
        return [check(P, obj, "API token", False, True, "Cloudflare says the token is %s (HTTP %d)"
                      % (result.get("status") or "not valid", status), "create a new API token with Zone Read and "
                      "DNS Edit on zone %s and give it as cloudflare_api_token" % zone, "needs_credentials")]
    if status != 200:
        return [check(P, obj, "API token", True, False, "not proven: %s/user/tokens/verify answered HTTP %d"
                      % (getattr(provider, "where", ""), status), "check cloudflare_api_url")]
    out = [check(P, obj, "API token", True, True, "Cloudflare says the token is active")]
    status, body = _get(provider, "/user/tokens/%s" % result.get("id"), "API token permissions")
    if status != 200 or not isinstance((body or {}).get("result"), dict):
        out.append(check(P, obj, "write permission", True, False, "not proven: the token may not read its own "
                         "permissions (HTTP %d; that needs API Tokens Read); DNS Edit shows only when the run writes"
                         % status, "optionally add API Tokens Read to the token so the preflight can prove DNS Edit"))
        return out
    zone_id = getattr(provider, "zone_id", None)
    for policy in body["result"].get("policies") or []:
        if policy.get("effect", "allow") != "allow":
            continue
        names = set(g.get("name") for g in policy.get("permission_groups") or [])
        resources = policy.get("resources") or {}
        covers = _covers(resources, zone_id)
        if _CF_WRITE in names and covers:
            out.append(check(P, obj, "write permission", True, True, "the token's policy grants %s on the zone"
                             % _CF_WRITE))
            return out
    out.append(check(P, obj, "write permission", False, True, "the token has no %s permission on zone %s"
                     % (_CF_WRITE, zone), "edit the API token: add Zone > DNS > Edit for zone %s" % zone,
                     "needs_role"))
    return out


def _covers(resources, zone_id):
    """Whether a policy's resources name the zone: by its id, every zone, or every zone of an account."""
    wanted = set([_CF_ZONE_RESOURCE + "*"] + ([_CF_ZONE_RESOURCE + zone_id] if zone_id else []))
    for name, value in (resources or {}).items():
        if name in wanted:
            return True
        if isinstance(value, dict) and set(value) & wanted:
            return True
    return False


# What the run does to a zone at Azure: MX and TXT record sets are written, and deleted when emptied.
_AZURE_ACTIONS = ["Microsoft.Network/dnszones/%s/%s" % (t, v) for t in ("MX", "TXT") for v in ("write", "delete")]
_AZURE_PERMISSIONS = "/providers/Microsoft.Authorization/permissions"
_AZURE_API = "2022-04-01"


def _azure(provider, obj, params, zone):
    """The identity's own permissions on the zone (Permissions - List For Resource), matched as Azure matches
    actions: case-insensitive, ``*`` a wildcard, ``notActions`` taken away."""
    try:
        from azure.core.rest import HttpRequest  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - the provider itself needs azure-core
        HttpRequest = None
    zone_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/dnszones/%s" % (
        params.get("azure_subscription_id"), getattr(provider, "group", None), zone.lower())
    url = "%s%s%s" % (getattr(provider, "arm", "").rstrip("/"), zone_id, _AZURE_PERMISSIONS)
    client = getattr(provider, "client", None)
    # The management client's own pipeline (credential, TLS, timeouts): azure-mgmt-dns 9 names it _send_request.
    send = getattr(client, "send_request", None) or getattr(client, "_send_request", None)
    if HttpRequest is None or send is None:
        return [check(P, obj, "write permission", True, False, "not proven: the Azure client cannot list "
                      "permissions", "nothing to do before the run; a refusal then names the role")]
    try:
        resp = send(HttpRequest("GET", url, params={"api-version": _AZURE_API}))
        status = resp.status_code
        body = resp.json() if status == 200 else None
    except Exception as err:  # pylint: disable=broad-exception-caught
        return [check(P, obj, "write permission", True, False, "not proven: the permissions list failed (%s: %s)"
                      % (type(err).__name__, str(err).splitlines()[0] if str(err) else ""),
                      "nothing to do before the run; a refusal then names the role")]
    if status != 200 or not isinstance((body or {}).get("value"), list):
        return [check(P, obj, "write permission", True, False, "not proven: Azure answered HTTP %d to the "
                      "permissions list" % status, "nothing to do before the run; a refusal then names the role")]
    missing = [a for a in _AZURE_ACTIONS if not _azure_allows(body["value"], a)]
    if missing:
        return [check(P, obj, "write permission", False, True, "the identity may not %s on zone %s"
                      % (", ".join(missing), zone), "give the identity the DNS Zone Contributor role on zone %s (or "
                      "its resource group %s)" % (zone, getattr(provider, "group", "")), "needs_role")]
    return [check(P, obj, "write permission", True, True, "the identity's permissions on the zone include %s"
                  % ", ".join(_AZURE_ACTIONS))]


def _azure_allows(permissions, action):
    def matches(patterns):
        return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in patterns or [])
    return any(matches(p.get("actions")) and not matches(p.get("notActions")) for p in permissions)
