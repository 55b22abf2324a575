# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only code that speaks Google's wire: OAuth credentials, the Cloud Identity
Policy API, the Directory API's ``orgunits``, ``users`` and ``tokens`` and the Reports API's admin
activity log (through google-api-python-client), and the legacy Admin Settings API
``email/gateway`` Atom resource (through google-auth's AuthorizedSession).

Knows nothing of Ansible. Every failure leaves as one UnrouteError naming the
domain, the object, the cause and what to do.
"""

from __future__ import annotations

import json
import ssl
import xml.etree.ElementTree as ET

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils._google import delegation
from ansible_collections.mxhero.unroute.plugins.module_utils import _budget
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import (
    RetryExhausted, RetryPolicy, TransientError)

IMPORT_ERROR = None
try:
    import google_auth_httplib2
    import httplib2
    import requests
    from google.auth import exceptions as auth_exceptions
    from google.auth.transport.requests import AuthorizedSession, Request
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account
    from googleapiclient.discovery import build
    from googleapiclient.errors import HttpError
except ImportError as err:  # reported by the module with missing_required_lib()
    IMPORT_ERROR = err

SCOPE_POLICIES = "https://www.googleapis.com/auth/cloud-identity.policies"
SCOPE_POLICIES_RO = "https://www.googleapis.com/auth/cloud-identity.policies.readonly"
SCOPE_ADMIN_SETTINGS = "https://apps-apis.google.com/a/feeds/domain/"
SCOPE_ORGUNIT_RO = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly"
SCOPE_USER_RO = "https://www.googleapis.com/auth/admin.directory.user.readonly"
SCOPE_USER_SECURITY = "https://www.googleapis.com/auth/admin.directory.user.security"
SCOPE_AUDIT_RO = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
# The narrowest scope sendAs.list accepts that does not also open every message (gmail.readonly would).
SCOPE_GMAIL_SETTINGS = "https://www.googleapis.com/auth/gmail.settings.basic"
# What users.list asks Google for: only what the grants engine uses (partial response).
USER_FIELDS = "nextPageToken,users(id,primaryEmail,suspended,isAdmin)"
DEFAULT_ADMIN_SETTINGS_ENDPOINT = "https://apps-apis.google.com/"
ATOM = "http://www.w3.org/2005/Atom"
APPS = "http://schemas.google.com/apps/2006"
# The seed's GWFIX payload, byte for byte in meaning: clear the smart host, plain SMTP.
SEED_GATEWAY_PAYLOAD = (
    '<atom:entry xmlns:atom="http://www.w3.org/2005/Atom" xmlns:apps="http://schemas.google.com/apps/2006">\n'
    '<apps:property name="smartHost" value="" />\n'
    '<apps:property name="smtpMode" value="SMTP" />\n'
    '</atom:entry>\n')
DWD_PATH = delegation.DWD_SCREEN


class MutateUnsupported(Exception):
    """Google answered that this setting type cannot be changed through the API (nothing changed)."""


class NotPermitted(Exception):
    """A read Google refused for want of a scope, delegation or role; the text says what to grant."""


class NoMailbox(Exception):
    """The user has no Gmail mailbox to read (no licence, suspended, or unknown to the token endpoint)."""


class GoogleClient(object):
    def __init__(self, domain, credentials_file=None, credentials_data=None, subject=None, access_token=None,
                 scopes=(), api_endpoint=None, admin_settings_endpoint=None, ca_file=None, timeout=30,
                 retry=None, token_uri=None):
        self.domain = domain
        # An estate-wide pattern (admin@{domain}) serves every customer of one service account.
        self.subject = delegation.subject_for(domain, subject)
        self.scopes = list(scopes)
        self.api_endpoint = api_endpoint
        self.admin_settings_endpoint = admin_settings_endpoint or DEFAULT_ADMIN_SETTINGS_ENDPOINT
        self.ca_file = ca_file
        self.token_uri = token_uri
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._secrets = [access_token, credentials_data]
        self._info = None
        self._access_token = access_token
        self._creds = None
        self._service = None
        self._admin = {}
        self._gmail = None
        self._session = None
        if credentials_data:
            self._info = self._parse_json(credentials_data, "credentials_data")
        elif credentials_file:
            try:
                with open(credentials_file) as handle:
                    self._info = self._parse_json(handle.read(), credentials_file)
            except (IOError, OSError) as err:
                raise UnrouteError(domain, "credentials", "cannot read %s: %s" % (credentials_file, err.strerror),
                                   "give a readable service-account key or authorized-user file")
        elif not access_token:
            raise UnrouteError(domain, "credentials", "no credentials given",
                               "set credentials_file, credentials_data or access_token")
        if self._info is not None:
            self._secrets.extend([self._info.get("private_key"), self._info.get("client_secret"),
                                  self._info.get("refresh_token")])
        self.budget = None

    def spending(self):
        """The Budget of the Cloud project whose quotas the calls spend (the key's project; a bare access
        token: the subject's domain), shared by every process on the controller."""
        if self.budget is None:
            info = self._info or {}
            label = info.get("project_id") or info.get("client_id") or (self.subject or self.domain)
            where = self.api_endpoint or "google"
            self.budget = _budget.budget_for("google", "%s %s" % (where, label), label=str(label))
        return self.budget

    def _throttled(self, status, reason, retry_after):
        """Google's "slow down" (429, or 403 rateLimitExceeded/userRateLimitExceeded): the project's budget
        is penalised for every process spending it."""
        if status == 429 or (status == 403 and reason in _RATE_LIMITED):
            self.spending().penalise(retry_after)
            return True
        return False

    def _parse_json(self, text, where):
        try:
            info = json.loads(text)
        except ValueError:
            raise UnrouteError(self.domain, "credentials", "%s is not JSON" % where,
                               "give a service-account key file (type service_account) or an authorized-user file")
        if not isinstance(info, dict) or info.get("type") not in ("service_account", "authorized_user"):
            raise UnrouteError(self.domain, "credentials", "%s is neither a service-account key nor an "
                               "authorized-user file" % where, "check the file's \"type\" field")
        return info

    # -- credentials ---------------------------------------------------------------
    def _http_session(self):
        session = requests.Session()
        if self.ca_file:
            session.verify = self.ca_file
            # Otherwise REQUESTS_CA_BUNDLE from the environment overrides the CA we were given.
            session.trust_env = False
        return session

    def credentials(self):
        if self._creds is not None:
            return self._creds
        info = self._info
        try:
            if info is None:
                creds = user_credentials.Credentials(token=self._access_token)
            elif info["type"] == "service_account":
                if not self.subject:
                    raise UnrouteError(self.domain, "credentials", "a service account needs a subject to act for",
                                       "set subject to a super administrator of %s (domain-wide delegation)"
                                       % self.domain)
                creds = service_account.Credentials.from_service_account_info(info, scopes=self.scopes,
                                                                              subject=self.subject)
            else:
                creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=self.scopes)
                if self.token_uri:
                    # google-auth ignores an authorized-user file's token_uri on purpose (the refresh token
                    # must not follow a file to any host); only an explicit option moves it.
                    creds = creds.with_token_uri(self.token_uri)
        except (ValueError, KeyError) as err:
            raise UnrouteError(self.domain, "credentials", "the credentials are incomplete: %s"
                               % scrub(err, self._secrets), "download the key or authorized-user file again")
        if info is not None and not creds.valid:
            self._refresh(creds)
            # Learnt at run time: the runner scrubs it once the glue declares it (secret_values).
            self._secrets.append(creds.token)
        self._creds = creds
        return creds

    def secret_values(self):
        """Every secret this client holds or learnt (keys, refresh and access tokens), for ``ctx.secret``."""
        return [s for s in self._secrets if s]

    def _refresh(self, creds):
        try:
            creds.refresh(Request(self._http_session()))
        except auth_exceptions.RefreshError as err:
            raise self._refresh_error(err)
        except auth_exceptions.TransportError as err:
            raise self._transport_error("token endpoint %s" % self._info.get("token_uri"), err)

    def _transport_error(self, what, err):
        text = _short(scrub(err, self._secrets))
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return UnrouteError(self.domain, what, "the TLS certificate could not be verified (%s)" % text,
                                "give the CA that signed it in ca_path (ca_file); TLS verification is never "
                                "switched off")
        return UnrouteError(self.domain, what, "cannot reach it: %s" % text, "check the network path and the endpoint")

    def _refresh_error(self, err):
        text = scrub(err.args[0] if err.args else err, self._secrets)
        who = self.subject or "the authorized user"
        if "Invalid JWT Signature" in text:
            return UnrouteError(self.domain, "service account %s" % self._info.get("client_email"),
                                "Google refused the signed token request (Invalid JWT Signature): the private key "
                                "does not belong to this service account (revoked or wrong key file)",
                                "create a new key for the service account and use that file")
        if text.startswith("unauthorized_client"):
            return UnrouteError(self.domain, "service account %s" % self._info.get("client_email"),
                                "domain-wide delegation does not cover client ID %s for scopes %s"
                                % (self._info.get("client_id"), ", ".join(self.scopes)),
                                delegation.delegation_fix(self.domain, self._info.get("client_id"), self.scopes))
        if "Invalid email or User ID" in text or "valid email" in text:
            return UnrouteError(self.domain, "subject %s" % who, "Google knows no such user to act for",
                                "set subject to an existing super administrator of %s" % self.domain)
        if text.startswith("invalid_grant") and self._info.get("type") == "authorized_user":
            return UnrouteError(self.domain, "authorized user", "the refresh token was refused (%s)" % _short(text),
                                "sign in again as a super admin and write a new authorized-user file")
        return UnrouteError(self.domain, "token endpoint", "token request refused: %s" % _short(text),
                            "check the credentials and the scopes they may use")

    # -- Policy API ---------------------------------------------------------------
    def _policies(self):
        if self._service is None:
            creds = self.credentials()
            http = httplib2.Http(ca_certs=self.ca_file, timeout=self.timeout) if self.ca_file \
                else httplib2.Http(timeout=self.timeout)
            options = {"api_endpoint": self.api_endpoint} if self.api_endpoint else None
            self._service = build("cloudidentity", "v1", http=google_auth_httplib2.AuthorizedHttp(creds, http=http),
                                  static_discovery=True, cache_discovery=False, client_options=options)
            if not hasattr(self._service.policies(), "patch"):
                raise UnrouteError(self.domain, "google-api-python-client", "its cloudidentity v1 discovery document "
                                   "lacks policies.patch/delete", "install google-api-python-client >= 2.197")
        return self._service.policies()

    def _execute(self, what, request, write=False, http_error=None):
        """One call through our RetryPolicy; googleapiclient's own retries stay off (num_retries=0)
        because they would repeat a write whose outcome is unknown."""
        def attempt():
            self.spending().acquire(write=write)
            try:
                return request.execute(num_retries=0)
            except HttpError as err:
                status = int(err.resp.status)
                reason = _google_reason(err) or ((_google_body(err).get("errors") or [{}])[0] or {}).get("reason")
                throttled = self._throttled(status, reason, _retry_after(err.resp))
                if throttled or (status in (500, 502, 503, 504)):
                    raise TransientError("%s: HTTP %d %s" % (what, status, _google_message(err)),
                                         retry_after=_retry_after(err.resp),
                                         unknown_outcome=write and not throttled, throttled=throttled)
                raise
            except ssl.SSLError:
                raise  # a certificate problem is not transient
            except (httplib2.HttpLib2Error, OSError) as err:
                raise TransientError("%s: %s" % (what, err), unknown_outcome=write)
        try:
            return self.retry.call(attempt)
        except RetryExhausted as err:
            if getattr(err.last, "unknown_outcome", False):
                raise UnrouteError(self.domain, what, "the write may or may not have been applied (%s)" % err,
                                   "run again: the module reads the current state first")
            raise UnrouteError(self.domain, what, "Google kept failing: %s" % err, "try again later")
        except HttpError as err:
            raise (http_error or self._http_error)(what, err)
        except auth_exceptions.RefreshError as err:
            raise self._refresh_error(err)
        except (auth_exceptions.TransportError, ssl.SSLError) as err:
            raise self._transport_error(what, err)

    def _http_error(self, what, err):
        status = int(err.resp.status)
        message = scrub(_google_message(err), self._secrets)
        reason = _google_reason(err)
        if status == 501:
            return MutateUnsupported(message)
        if status == 401:
            return UnrouteError(self.domain, what, "HTTP 401: the access token was refused (%s)" % message,
                                "give a fresh access token or use a service account / authorized-user file")
        if status == 403 and reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
            return UnrouteError(self.domain, what, "HTTP 403: the token lacks the scope this call needs (%s)"
                                % ", ".join(self.scopes), "grant %s to the client (%s)" % (SCOPE_POLICIES, DWD_PATH))
        if status == 403:
            return UnrouteError(self.domain, what, "HTTP 403 PERMISSION_DENIED: %s is not a super administrator "
                                "(the Cloud Identity Policy API answers only super admins)"
                                % (self.subject or "the signed-in user"),
                                "act as a super administrator (subject) of %s" % self.domain)
        return UnrouteError(self.domain, what, "HTTP %d: %s" % (status, message), None)

    def list_policies(self, customer, setting_filter):
        """Every policy of ``customer`` whose setting type matches, across all pages."""
        query = 'customer == "customers/%s" && %s' % (customer, setting_filter)
        out, token = [], None
        while True:
            kwargs = {"filter": query, "pageSize": 100}
            if token:
                kwargs["pageToken"] = token
            page = self._execute("list Gmail policies", self._policies().list(**kwargs))
            out.extend(page.get("policies") or [])
            token = page.get("nextPageToken")
            if not token:
                return out

    def get_policy(self, name):
        return self._execute("policy %s" % name, self._policies().get(name=name))

    def patch_policy(self, name, setting):
        return self._operation("patch %s" % name, self._policies().patch(name=name, body={"setting": setting}))

    def delete_policy(self, name):
        return self._operation("delete %s" % name, self._policies().delete(name=name))

    def _operation(self, what, request):
        op = self._execute(what, request, write=True)
        if op.get("error"):
            error = op["error"]
            if int(error.get("code") or 0) == 12:  # google.rpc.Code UNIMPLEMENTED
                raise MutateUnsupported(error.get("message"))
            raise UnrouteError(self.domain, what, "Google reported the operation failed: %s (code %s)"
                               % (scrub(error.get("message"), self._secrets), error.get("code")), None)
        return op

    # -- Directory API orgunits (names for manual steps) --------------------------------------
    def _scoped_credentials(self, scopes):
        """Credentials for ``scopes`` alone: a token of its own, so that a delegation or consent without
        these scopes costs only what needs them (NotPermitted names the scope to grant), never the run."""
        info = self._info
        if info is None:
            return self.credentials()
        scopes = list(scopes)
        try:
            if info["type"] == "service_account":
                creds = service_account.Credentials.from_service_account_info(info, scopes=scopes,
                                                                              subject=self.subject)
            else:
                creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=scopes)
                if self.token_uri:
                    creds = creds.with_token_uri(self.token_uri)
        except (ValueError, KeyError) as err:
            raise UnrouteError(self.domain, "credentials", "the credentials are incomplete: %s"
                               % scrub(err, self._secrets), "download the key or authorized-user file again")
        try:
            creds.refresh(Request(self._http_session()))
        except auth_exceptions.RefreshError as err:
            text = scrub(err.args[0] if err.args else err, self._secrets)
            if text.startswith("unauthorized_client"):
                raise NotPermitted("domain-wide delegation does not grant %s to client ID %s; %s"
                                   % (", ".join(scopes), info.get("client_id"),
                                      delegation.delegation_fix(self.domain, info.get("client_id"), scopes)))
            if text.startswith("invalid_scope"):
                raise NotPermitted("the authorized user did not consent to %s; sign in again with that scope"
                                   % ", ".join(scopes))
            raise self._refresh_error(err)
        except auth_exceptions.TransportError as err:
            raise self._transport_error("token endpoint %s" % info.get("token_uri"), err)
        self._secrets.append(creds.token)
        return creds

    def prove_scope(self, scope):
        """Ask the token endpoint for a token for ``scope`` alone (nothing else is called): True when it issues
        one, False when the credentials are an access token (whose scopes were fixed when it was issued).
        Raises NotPermitted when delegation or consent does not cover the scope, UnrouteError otherwise."""
        if self._info is None:
            return False
        self._scoped_credentials([scope])
        return True

    @property
    def delegation_client_id(self):
        """The client ID a super admin enters under domain-wide delegation (a service account's), or None."""
        return (self._info or {}).get("client_id")

    def _admin_api(self, version, scopes):
        """The Admin SDK ``version`` (directory_v1, reports_v1) with a token for ``scopes`` alone."""
        key = (version, tuple(scopes))
        if key not in self._admin:
            creds = self._scoped_credentials(scopes)
            http = httplib2.Http(ca_certs=self.ca_file, timeout=self.timeout) if self.ca_file \
                else httplib2.Http(timeout=self.timeout)
            options = {"api_endpoint": self.api_endpoint} if self.api_endpoint else None
            self._admin[key] = build("admin", version, http=google_auth_httplib2.AuthorizedHttp(creds, http=http),
                                     static_discovery=True, cache_discovery=False, client_options=options)
        return self._admin[key]

    def _org_units_api(self):
        # The emulator and Google's own front end both serve the Directory API under the root the
        # Policy API uses (the discovery document's servicePath is empty; paths start admin/...).
        return self._admin_api("directory_v1", [SCOPE_ORGUNIT_RO]).orgunits()

    def _directory_error(self, what, err, scope=SCOPE_ORGUNIT_RO, role="read organisational units"):
        status = int(err.resp.status)
        message = scrub(_google_message(err), self._secrets)
        if status == 403 and _google_reason(err) == "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
            return NotPermitted("the token lacks %s; grant it to the client (%s)" % (scope, DWD_PATH))
        if status in (401, 403):
            return NotPermitted("HTTP %d %s; act as an administrator allowed to %s" % (status, message.strip(), role))
        return UnrouteError(self.domain, what, "HTTP %d: %s" % (status, message), None)

    def list_org_units(self, customer):
        """Every organisational unit of ``customer``, the top level included (Directory API, read only)."""
        what = "organisational units (Directory API)"
        request = self._org_units_api().list(customerId=customer, orgUnitPath="/", type="allIncludingParent")
        return self._execute(what, request, http_error=self._directory_error).get("organizationUnits") or []

    # -- Directory API users and their OAuth grants (tokens) ------------------------------------
    def _users_error(self, what, err):
        return self._directory_error(what, err, SCOPE_USER_RO, "list users")

    def _tokens_error(self, what, err):
        if int(err.resp.status) == 404:
            return LookupError(what)
        return self._directory_error(what, err, SCOPE_USER_SECURITY, "manage users' security settings")

    def list_users(self, customer, limit=None):
        """Every user of ``customer`` (id, primaryEmail, suspended, isAdmin), all pages; stops and returns
        ``limit + 1`` users as soon as there are more than ``limit``."""
        users_api = self._admin_api("directory_v1", [SCOPE_USER_RO]).users()
        out, token = [], None
        while True:
            kwargs = {"customer": customer, "maxResults": 500, "orderBy": "email", "fields": USER_FIELDS}
            if token:
                kwargs["pageToken"] = token
            page = self._execute("users (Directory API)", users_api.list(**kwargs), http_error=self._users_error)
            out.extend(page.get("users") or [])
            token = page.get("nextPageToken")
            if not token or (limit is not None and len(out) > limit):
                return out

    def list_tokens(self, user_key):
        """The OAuth grants ``user_key`` gave third-party apps; None when Google no longer knows the user."""
        api = self._admin_api("directory_v1", [SCOPE_USER_SECURITY]).tokens()
        try:
            return self._execute("OAuth grants of %s" % user_key, api.list(userKey=user_key),
                                 http_error=self._tokens_error).get("items") or []
        except LookupError:
            return None

    def delete_token(self, user_key, client_id):
        """Revoke every token ``user_key`` issued to ``client_id``; False when there was none any more."""
        api = self._admin_api("directory_v1", [SCOPE_USER_SECURITY]).tokens()
        try:
            self._execute("OAuth grant of %s to %s" % (user_key, client_id),
                          api.delete(userKey=user_key, clientId=client_id), write=True, http_error=self._tokens_error)
        except LookupError:
            return False
        return True

    # -- Gmail API: a user's send-as addresses (domain-wide delegation, one token per user) --------
    def _mailbox_credentials(self, email):
        info = self._info
        if info is None or info.get("type") != "service_account":
            raise NotPermitted("reading other users' send-as addresses needs a service-account key with domain-wide "
                               "delegation (an access token or authorized-user file acts for one mailbox only)")
        creds = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE_GMAIL_SETTINGS],
                                                                      subject=email)
        try:
            creds.refresh(Request(self._http_session()))
        except auth_exceptions.RefreshError as err:
            text = scrub(err.args[0] if err.args else err, self._secrets)
            if text.startswith("unauthorized_client"):
                raise NotPermitted("domain-wide delegation does not grant %s to client ID %s; %s"
                                   % (SCOPE_GMAIL_SETTINGS, info.get("client_id"),
                                      delegation.delegation_fix(self.domain, info.get("client_id"),
                                                                [SCOPE_GMAIL_SETTINGS])))
            if text.startswith("invalid_grant"):
                raise NoMailbox(_short(text))
            raise self._refresh_error(err)
        except auth_exceptions.TransportError as err:
            raise self._transport_error("token endpoint %s" % info.get("token_uri"), err)
        self._secrets.append(creds.token)
        return creds

    def _gmail_error(self, what, err):
        status = int(err.resp.status)
        message = scrub(_google_message(err), self._secrets)
        if (status == 400 and "failedPrecondition" in str(err.content)) or status == 404:
            return NoMailbox(message.strip())
        if status == 403 and _google_reason(err) == "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
            return NotPermitted("the token lacks %s; grant it to the client (%s)" % (SCOPE_GMAIL_SETTINGS, DWD_PATH))
        return UnrouteError(self.domain, what, "HTTP %d: %s" % (status, message), None)

    def list_send_as(self, email):
        """The send-as addresses of ``email``'s mailbox (Gmail API, acting as that user)."""
        creds = self._mailbox_credentials(email)
        base = httplib2.Http(ca_certs=self.ca_file, timeout=self.timeout) if self.ca_file \
            else httplib2.Http(timeout=self.timeout)
        if self._gmail is None:
            # Built once: only the credentials change from one mailbox to the next.
            options = {"api_endpoint": self.api_endpoint} if self.api_endpoint else None
            self._gmail = build("gmail", "v1", http=google_auth_httplib2.AuthorizedHttp(creds, http=base),
                                static_discovery=True, cache_discovery=False, client_options=options)
        request = self._gmail.users().settings().sendAs().list(userId="me")
        request.http = google_auth_httplib2.AuthorizedHttp(creds, http=base)
        return self._execute("send-as addresses of %s (Gmail API)" % email, request,
                             http_error=self._gmail_error).get("sendAs") or []

    # -- Reports API: the admin activity log ----------------------------------------------------
    def _reports_error(self, what, err):
        return self._directory_error(what, err, SCOPE_AUDIT_RO, "read the admin audit log (Reports)")

    def list_admin_activities(self, customer, event_name):
        """Every admin-log activity named ``event_name`` Google still keeps, newest first, all pages."""
        api = self._admin_api("reports_v1", [SCOPE_AUDIT_RO]).activities()
        out, token = [], None
        while True:
            kwargs = {"userKey": "all", "applicationName": "admin", "eventName": event_name, "maxResults": 1000}
            if customer and customer != "my_customer":
                kwargs["customerId"] = customer
            if token:
                kwargs["pageToken"] = token
            page = self._execute("admin audit log (Reports API %s)" % event_name, api.list(**kwargs),
                                 http_error=self._reports_error)
            out.extend(page.get("items") or [])
            token = page.get("nextPageToken")
            if not token:
                return out

    # -- legacy Admin Settings API ------------------------------------------------------
    def _legacy(self):
        if self._session is None:
            creds = self.credentials()
            session = AuthorizedSession(creds, auth_request=Request(self._http_session()))
            if self.ca_file:
                session.verify = self.ca_file
                session.trust_env = False
            self._session = session
        return self._session

    def _gateway_url(self):
        return "%sa/feeds/domain/2.0/%s/email/gateway" % (self.admin_settings_endpoint.rstrip("/") + "/",
                                                          self.domain)

    def _legacy_call(self, method, data=None):
        what = "outbound gateway (Admin Settings API)"
        write = method != "GET"

        def attempt():
            self.spending().acquire(write=write)
            try:
                resp = self._legacy().request(method, self._gateway_url(), data=data, timeout=self.timeout,
                                              headers={"Content-Type": "application/atom+xml"} if data else None)
            except requests.exceptions.SSLError:
                raise  # a certificate problem is not transient
            except requests.RequestException as err:
                raise TransientError("%s: %s" % (what, _short(err)), unknown_outcome=write)
            throttled = self._throttled(resp.status_code, None, _retry_after(resp.headers))
            if throttled or resp.status_code in (500, 502, 503, 504):
                raise TransientError("%s: HTTP %d" % (what, resp.status_code),
                                     retry_after=_retry_after(resp.headers),
                                     unknown_outcome=write and not throttled, throttled=throttled)
            return resp
        try:
            resp = self.retry.call(attempt)
        except RetryExhausted as err:
            if getattr(err.last, "unknown_outcome", False):
                raise UnrouteError(self.domain, what, "the change may or may not have been applied (%s)" % err,
                                   "run again: the module reads the gateway first")
            raise UnrouteError(self.domain, what, "Google kept failing: %s" % err, "try again later")
        except auth_exceptions.RefreshError as err:
            raise self._refresh_error(err)
        except (auth_exceptions.TransportError, requests.exceptions.SSLError) as err:
            raise self._transport_error(what, err)
        if resp.status_code in (401, 403):
            raise UnrouteError(self.domain, what, "HTTP %d: %s" % (resp.status_code, _short(_text(resp))),
                               "act as the domain's super administrator, and make sure API access is enabled "
                               "(Admin console > Security > API reference > Enable API access)")
        if resp.status_code in (404, 410):
            raise UnrouteError(self.domain, what, "HTTP %d: the Admin Settings API is not available (Google "
                               "turned it off on 2018-10-31)" % resp.status_code,
                               "use api: policy and clear the gateway in the Admin console as its manual step says")
        if resp.status_code >= 400:
            detail = _short(scrub(_text(resp), self._secrets))
            raise UnrouteError(self.domain, what, "HTTP %d: %s" % (resp.status_code, detail), None)
        return _parse_gateway(self.domain, resp.content)

    def get_gateway(self):
        return self._legacy_call("GET")

    def clear_gateway(self):
        return self._legacy_call("PUT", SEED_GATEWAY_PAYLOAD.encode())


def _parse_gateway(domain, content):
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        raise UnrouteError(domain, "outbound gateway (Admin Settings API)", "the reply is not an Atom entry", None)
    props = dict((p.get("name"), p.get("value") or "") for p in root.iter("{%s}property" % APPS))
    return {"smartHost": props.get("smartHost", ""), "smtpMode": props.get("smtpMode", "")}


# Google's quota answers that mean "slow down", not "forbidden" (Admin SDK and Gmail "Resolve errors").
_RATE_LIMITED = ("rateLimitExceeded", "userRateLimitExceeded")


def _retry_after(headers):
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _google_body(err):
    try:
        return json.loads(err.content.decode("utf-8", "replace")).get("error") or {}
    except (ValueError, AttributeError):
        return {}


def _google_message(err):
    body = _google_body(err)
    return "%s %s" % (body.get("status", ""), body.get("message", "")) if body else _short(err.reason)


def _google_reason(err):
    for detail in _google_body(err).get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            return detail["reason"]
    return None


def _text(resp):
    return resp.content.decode("utf-8", "replace")


def _short(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."
