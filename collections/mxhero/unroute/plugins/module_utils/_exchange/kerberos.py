# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos on the controller: a ticket from a password, and why Kerberos could not be used.

pypsrp (pyspnego) gets its own ticket from a password. pywinrm's kerberos
transport (pykerberos) only reads the default credential cache, so with a
password the client gets a ticket here, through GSSAPI, into a private cache
that lives as long as the client, and points KRB5CCNAME at it while pywinrm
works. Without a password both use the cache the controller already has
(KRB5CCNAME, after ``kinit``). The realms and KDCs come from the standard
krb5 configuration (KRB5_CONFIG, else /etc/krb5.conf). Knows nothing of Ansible.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading

try:
    import gssapi
    import gssapi.raw
    HAS_GSSAPI = True
except ImportError:  # pragma: no cover - reported as a missing package when Kerberos is asked for
    HAS_GSSAPI = False

# KRB5CCNAME is one per process: clients that point it at their own cache take turns.
_ENV_LOCK = threading.RLock()


class KerberosFailure(Exception):
    """Kerberos could not get a ticket; the text is the KDC's or GSSAPI's reason, one line."""


def _reason(err):
    text = " ".join(str(err).split())
    # GSSError texts repeat "Major (...): ..., Minor (...): <the useful part>".
    if "Minor" in text:
        text = text.split("Minor", 1)[1].split(":", 1)[-1].strip() or text
    return text[:240]


class PasswordTicket(object):
    """A TGT for ``principal`` obtained with ``password``, in a private credential cache."""

    def __init__(self, principal, password):
        if not HAS_GSSAPI:
            raise KerberosFailure("the Python package gssapi is not installed")
        self.principal = principal
        self.dir = tempfile.mkdtemp(prefix="unroute-krb5-")
        self.ccache = "FILE:%s" % os.path.join(self.dir, "ccache")
        try:
            name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
            creds = gssapi.raw.acquire_cred_with_password(name, password.encode("utf-8"), usage="initiate").creds
            gssapi.raw.store_cred_into({"ccache": self.ccache}, creds, usage="initiate", overwrite=True)
        except Exception as err:  # noqa: BLE001 - GSSError and friends, turned into one line
            self.close()
            raise KerberosFailure("no ticket for %s: %s" % (principal, _reason(err)))

    @contextlib.contextmanager
    def active(self):
        with _ENV_LOCK:
            old = os.environ.get("KRB5CCNAME")
            os.environ["KRB5CCNAME"] = self.ccache
            try:
                yield
            finally:
                if old is None:
                    os.environ.pop("KRB5CCNAME", None)
                else:
                    os.environ["KRB5CCNAME"] = old

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def default_cache():
    """While a client uses the controller's own cache, no other client may have KRB5CCNAME pointed elsewhere."""
    with _ENV_LOCK:
        yield


def service_ticket_problem(spn_host, username=None, password=None, ticket=None):
    """None when a ticket for HTTP/<spn_host> can be had with these credentials, else the reason (one line)."""
    try:
        import spnego
    except ImportError:
        return "pyspnego is not installed"
    if ticket is not None:
        # The password already became the ticket in that cache.
        scope, password = ticket.active(), None
    else:
        scope = default_cache()
    try:
        with scope:
            spnego.client(username, password, hostname=spn_host, service="HTTP", protocol="kerberos").step()
    except Exception as err:  # noqa: BLE001 - whatever stops Kerberos is the answer
        return _reason(err)
    return None
