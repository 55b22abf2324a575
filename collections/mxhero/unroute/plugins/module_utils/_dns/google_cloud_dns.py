# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google Cloud DNS through google-api-python-client (``dns`` v1) and google-auth.

Compare-and-swap: a write is one ``changes.create`` whose ``deletions`` are the record set exactly as read
(name, type, TTL, every rrdata) and whose ``additions`` are the new set. Cloud DNS applies a change all or
nothing and refuses deletions that are not the current set (412 conditionNotMet; 404 notFound when the set is
gone; 409 alreadyExists when an addition's set appeared), so a concurrent change fails the write instead of
being overwritten.
"""

from __future__ import annotations

import hashlib
import json
import threading
import socket

from ansible.module_utils.basic import env_fallback

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryPolicy, TransientError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    ATOMIC_CAS, AccessDenied, CredentialsRefused, DnsProvider, Libraries, NotLoaded, OptionRefused, OutcomeUnknown,
    PrerequisiteFailed, ProviderError, RRset, ZONE_TYPES, ZoneNotFound)


# Bound by _import() when the provider is chosen.
google = google_auth_httplib2 = httplib2 = service_account = discovery = None
HttpError = NotLoaded


def _import():
    """Google's client libraries, imported on first use (only when ``provider: google_cloud_dns`` is chosen)."""
    global google, google_auth_httplib2, httplib2, service_account, discovery, HttpError
    import google.auth
    import google.auth.exceptions
    import google_auth_httplib2
    import httplib2
    from google.oauth2 import service_account
    from googleapiclient import discovery
    from googleapiclient.errors import HttpError


# _load() imports them once and says whether they are there (the module reports a missing library).
_load = Libraries(_import)

SCOPE = "https://www.googleapis.com/auth/ndev.clouddns.readwrite"
# Google's "slow down" answers (403 or 429 with these reasons): a quota of the project, not a refusal.
_RATE_LIMITED = ("rateLimitExceeded", "userRateLimitExceeded")


# One Credentials object per service-account key for the life of the process: loading the key costs a tenth of a
# second, and the object keeps its access token (one token per key, not one per module call).
_CREDENTIALS = {}
_CREDENTIALS_LOCK = threading.Lock()


def _credentials(text, info):
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with _CREDENTIALS_LOCK:
        creds = _CREDENTIALS.get(key)
    if creds is None:
        creds = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        with _CREDENTIALS_LOCK:
            _CREDENTIALS[key] = creds
    return creds


class CloudDnsProvider(DnsProvider):
    name = "google_cloud_dns"
    guarantee = ATOMIC_CAS
    library = "google-api-python-client and google-auth"
    # The names of google.cloud's modules and gcloud's environment variables.
    options = dict(
        gcp_project=dict(type="str", fallback=(env_fallback, ["GCP_PROJECT", "GOOGLE_CLOUD_PROJECT",
                                                              "CLOUDSDK_CORE_PROJECT"])),
        gcp_service_account_file=dict(type="path", fallback=(
            env_fallback, ["GCP_SERVICE_ACCOUNT_FILE", "GOOGLE_APPLICATION_CREDENTIALS"])),
        gcp_service_account_contents=dict(type="str", no_log=True,
                                          fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_CONTENTS"])),
        gcp_api_endpoint=dict(type="str", fallback=(env_fallback, ["CLOUDSDK_API_ENDPOINT_OVERRIDES_DNS"])),
    )

    @classmethod
    def available(cls):
        return _load()

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        return cls(zone, project=params.get("gcp_project"), credentials_file=params.get("gcp_service_account_file"),
                   credentials_data=params.get("gcp_service_account_contents"),
                   api_endpoint=params.get("gcp_api_endpoint"), ca_path=params.get("ca_path"),
                   timeout=params["timeout"], on_secret=on_secret)

    def __init__(self, zone, project=None, credentials_file=None, credentials_data=None, api_endpoint=None,
                 ca_path=None, timeout=10.0, retry=None, on_secret=None):
        _load()
        self.zone_text = validate.domain_of(zone)
        self.zone_fqdn = validate.fqdn(zone)
        self.retry = retry or RetryPolicy()
        self.on_secret = on_secret
        self.secret(credentials_data)
        what = "credentials"
        try:
            if credentials_data or credentials_file:
                text = credentials_data
                if not text:
                    with open(credentials_file) as handle:
                        text = handle.read()
                info = json.loads(text)
                if not isinstance(info, dict) or info.get("type") != "service_account":
                    raise ValueError("not a service-account key (its \"type\" is not service_account)")
                self.secret(info.get("private_key"))
                creds = _credentials(text, info)
                found_project = info.get("project_id")
            else:
                creds, found_project = google.auth.default(scopes=[SCOPE])
        except (IOError, OSError) as err:
            raise CredentialsRefused(self.zone_text, what, "cannot read %s: %s" % (credentials_file, err.strerror),
                                     reason="file")
        except (ValueError, KeyError) as err:
            raise CredentialsRefused(self.zone_text, what, "the service-account key is unusable: %s"
                                     % self.clean(err))
        except google.auth.exceptions.DefaultCredentialsError:
            raise CredentialsRefused(self.zone_text, what, "no service-account key given and no application "
                                     "default credentials found", reason="none")
        self.project = project or found_project
        if not self.project:
            raise OptionRefused(self.zone_text, "option gcp_project", "no project given and the credentials name "
                                "none", reason="project")
        # Cloud DNS quotas are per project: the project names the account in unroute_budgets.
        self.account = ("google_cloud_dns", "%s %s" % (api_endpoint or "google", self.project), self.project)
        transport = httplib2.Http(ca_certs=ca_path or None, timeout=timeout)
        http = google_auth_httplib2.AuthorizedHttp(creds, http=transport)
        options = {"api_endpoint": api_endpoint} if api_endpoint else None
        self.service = discovery.build("dns", "v1", http=http, static_discovery=True, cache_discovery=False,
                                       client_options=options)
        self.managed_zone = None
        self.where = api_endpoint or "dns.googleapis.com"

    # -- the seam ----------------------------------------------------------------
    def _call(self, request, what, write=False):
        return self.attempt(lambda: request.execute(num_retries=0), what, write)

    def classify(self, err, what, write):
        if isinstance(err, HttpError):
            status = int(err.resp.status)
            if status in (429, 503) or (status in (500, 502, 504) and not write):
                return TransientError("Cloud DNS answered HTTP %d" % status, throttled=status == 429)
            if status in (500, 502, 504):
                return OutcomeUnknown("Cloud DNS answered HTTP %d: the change may have been applied" % status)
            status, reason, message = _error(err)
            if write and (status == 412 or (status == 404 and "deletions" in message) or
                          (status == 409 and "additions" in message)):
                return PrerequisiteFailed("Cloud DNS refused the change (%d %s: %s)" % (status, reason, message))
            if status == 401:
                return CredentialsRefused(self.zone_text, what, "Google refused the credentials (HTTP 401 %s: %s)"
                                          % (reason, message))
            if status == 403 and reason in _RATE_LIMITED:
                return TransientError("Cloud DNS answered HTTP 403 %s" % reason, throttled=True)
            if status == 403:
                return AccessDenied(self.zone_text, what, "Cloud DNS refused access (HTTP 403 %s: %s)"
                                    % (reason, message), about={"project": self.project})
            return ProviderError(self.zone_text, what, "Cloud DNS answered HTTP %d %s: %s" % (status, reason, message),
                                 "look at the zone in the Google Cloud console")
        if isinstance(err, google.auth.exceptions.RefreshError):
            # RefreshError carries (message, decoded body); the message is the line a person needs.
            text = err.args[0] if err.args else err
            return CredentialsRefused(self.zone_text, what, "Google refused the credentials (%s)" % self.clean(text))
        if isinstance(err, (socket.timeout, TimeoutError)):
            if write:
                return OutcomeUnknown("Cloud DNS did not answer (%s)" % (err or "timeout"))
            return TransientError("Cloud DNS did not answer")
        if isinstance(err, (ConnectionError, httplib2.ServerNotFoundError, OSError)):
            if write and not isinstance(err, (ConnectionRefusedError, httplib2.ServerNotFoundError)):
                return OutcomeUnknown("the connection to Cloud DNS broke before the answer came (%s)" % err)
            return TransientError("cannot reach Cloud DNS at %s: %s" % (self.where, err))
        return None

    # -- interface -------------------------------------------------------------
    def find_zone(self):
        what = "zone %s" % self.zone_text
        zones, token = [], None
        while True:
            page = self._call(self.service.managedZones().list(project=self.project, dnsName=self.zone_fqdn,
                                                               pageToken=token), what)
            zones.extend(page.get("managedZones") or [])
            token = page.get("nextPageToken")
            if not token:
                break
        found = [z for z in zones if (z.get("dnsName") or "").lower() == self.zone_fqdn]
        public = [z for z in found if z.get("visibility", "public") == "public"]
        if not public:
            more = " (only private zones of that name)" if found else ""
            raise ZoneNotFound(self.zone_text, what, "Cloud DNS has no public managed zone for %s in project %s%s"
                               % (self.zone_text, self.project, more))
        if len(public) > 1:
            raise UnrouteError(self.zone_text, what, "Cloud DNS has %d public managed zones for %s (%s)"
                               % (len(public), self.zone_text, ", ".join(z["name"] for z in public)),
                               "remove the duplicate zone in the Google Cloud console")
        self.managed_zone = public[0]["name"]

    def read(self, name, rdtype):
        name = validate.fqdn(name)
        if self.managed_zone is None:
            self.find_zone()
        what = "%s %s" % (name, rdtype)
        sets, token = [], None
        while True:
            page = self._call(self.service.resourceRecordSets().list(
                project=self.project, managedZone=self.managed_zone, name=name, type=rdtype, pageToken=token), what)
            sets.extend(page.get("rrsets") or [])
            token = page.get("nextPageToken")
            if not token:
                break
        for rrset in sets:
            if (rrset.get("name") or "").lower() == name and rrset.get("type") == rdtype:
                if rrset.get("routingPolicy"):
                    raise UnrouteError(self.zone_text, what, "the record set has a routing policy",
                                       "edit it in the Google Cloud console")
                return RRset(name, rdtype, rrset.get("ttl"), list(rrset.get("rrdatas") or []))
        return RRset(name, rdtype)

    def read_zone(self):
        """Every resource record set of the managed zone, 1,000 a page (``maxResults``), following
        ``nextPageToken``."""
        if self.managed_zone is None:
            self.find_zone()
        what = "zone %s (all records)" % self.zone_text
        out, token = [], None
        while True:
            page = self._call(self.service.resourceRecordSets().list(
                project=self.project, managedZone=self.managed_zone, maxResults=1000, pageToken=token), what)
            for rrset in page.get("rrsets") or []:
                if rrset.get("type") in ZONE_TYPES and rrset.get("rrdatas"):
                    out.append(RRset(validate.fqdn(rrset.get("name") or ""), rrset["type"], rrset.get("ttl"),
                                     list(rrset["rrdatas"])))
            token = page.get("nextPageToken")
            if not token:
                return out

    def change(self, expected, delete, add, ttl):
        name, rdtype = expected.name, expected.rdtype
        wanted = [v for v in expected.values if v not in delete] + [v for v in add if v not in expected.values]
        body = {"kind": "dns#change", "additions": [], "deletions": []}
        if expected.values:
            body["deletions"].append({"kind": "dns#resourceRecordSet", "name": name, "type": rdtype,
                                      "ttl": expected.ttl, "rrdatas": list(expected.values)})
        if wanted:
            body["additions"].append({"kind": "dns#resourceRecordSet", "name": name, "type": rdtype,
                                      "ttl": expected.ttl or ttl, "rrdatas": wanted})
        self._call(self.service.changes().create(project=self.project, managedZone=self.managed_zone, body=body),
                   "%s %s" % (name, rdtype), write=True)


def _error(err):
    status = int(err.resp.status)
    try:
        error = json.loads(err.content.decode("utf-8")).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    reasons = error.get("errors") or [{}]
    text = _first(error.get("message") or err.reason or "no error text")
    return status, reasons[0].get("reason") or error.get("status") or "", text


def _first(text):
    lines = str(text).strip().splitlines() or [""]
    return lines[0] if len(lines[0]) <= 300 else lines[0][:300] + "..."
