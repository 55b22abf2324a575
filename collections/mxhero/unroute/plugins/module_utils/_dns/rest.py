# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON over HTTPS for the hosted DNS APIs (Cloudflare, PowerDNS), through the one retry policy."""

from __future__ import annotations

import json
import threading

from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryPolicy, TransientError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    DnsProvider, OutcomeUnknown, ProviderError)

try:
    import requests
    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_REQUESTS = False

# Answers that mean "not now, nothing was done": worth another try after a pause.
_NOT_APPLIED = (429, 503)
# Answers from a proxy in front of the service: a write may or may not have reached it.
_GATEWAY = (502, 504)


class RestProvider(DnsProvider):
    """A provider whose service is JSON over HTTPS: requests go through the provider's attempt seam."""

    library = "requests"

    @classmethod
    def available(cls):
        return HAS_REQUESTS

    def connect(self, service, base_url, headers, timeout, retry=None, ca_file=None):
        self.service = service
        self.base = base_url.rstrip("/")
        # The credentials travel with each request, so one pooled session serves every zone and token.
        self.session = pooled_session(self.base)
        self.headers = dict(headers)
        self.headers.setdefault("Accept", "application/json")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.verify = ca_file or True

    def call(self, method, path, what, params=None, body=None, write=False):
        """(status, decoded JSON or None) of one request; retries 429/503 and, for reads, 502/504 and
        network failures. A write whose answer was lost raises OutcomeUnknown."""
        url = self.base + path

        def request():
            headers = dict(self.headers, **({"Content-Type": "application/json"} if body is not None else {}))
            resp = self.session.request(method, url, params=params, timeout=self.timeout, verify=self.verify,
                                        data=None if body is None else json.dumps(body), headers=headers)
            if resp.status_code in _NOT_APPLIED or (resp.status_code in _GATEWAY and not write):
                raise TransientError("%s answered HTTP %d" % (self.service, resp.status_code),
                                     retry_after=_retry_after(resp.headers), throttled=resp.status_code == 429)
            if resp.status_code in _GATEWAY:
                raise OutcomeUnknown("%s answered HTTP %d (a gateway error: the write may have been applied)"
                                     % (self.service, resp.status_code))
            return resp.status_code, _json(resp)
        return self.attempt(request, what, write)

    def classify(self, err, what, write):
        if isinstance(err, requests.exceptions.ConnectionError):
            if write and not isinstance(err, requests.exceptions.ConnectTimeout) and _sent(err):
                return OutcomeUnknown("%s: the connection broke before the answer came (%s)"
                                      % (self.service, _short(err)))
            return TransientError("cannot reach %s at %s: %s" % (self.service, self.base, _short(err)))
        if isinstance(err, requests.exceptions.Timeout):
            if write:
                return OutcomeUnknown("%s did not answer within %ss" % (self.service, self.timeout))
            return TransientError("%s did not answer within %ss (%s)" % (self.service, self.timeout, _short(err)))
        if isinstance(err, requests.exceptions.RequestException):
            return ProviderError(self.zone_text, what, "request to %s failed: %s" % (self.service, _short(err)),
                                 "check the API URL")
        return None


_POOL = threading.local()


def pooled_session(base_url):
    """One requests.Session per thread and API base URL for the life of the process, so the zones of a run
    reuse their kept-alive connections instead of a TLS handshake each. Per thread because a Session is not
    documented as thread-safe; it holds no credentials (they go with each request)."""
    sessions = vars(_POOL).setdefault("sessions", {})
    session = sessions.get(base_url)
    if session is None:
        session = sessions[base_url] = requests.Session()
    return session


def _sent(err):
    # "Connection refused" and name resolution failures happen before any byte of the request left.
    text = str(err).lower()
    return not any(word in text for word in ("refused", "name or service", "nodename", "failed to resolve",
                                             "no route", "max retries exceeded with url"))


def _short(err):
    text = str(err)
    return text if len(text) <= 200 else text[:200] + "..."


def _json(resp):
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _retry_after(headers):
    value = (headers or {}).get("Retry-After")
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None
