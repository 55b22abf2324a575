"""The one-line 401 / Kerberos errors of both Exchange paths: what they blame and what they tell to configure."""

from __future__ import annotations

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import auth_refused


def text(err):
    return "%s; %s" % (err.cause, err.fix)


def test_negotiate_by_ip_without_kerberos_names_spn_realm_and_dns_name():
    err = auth_refused("X", "exadmin@EX.TEST", "psrp_transport", "negotiate", "http", "10.0.0.5",
                       "Server not found in Kerberos database", "IIS")
    out = text(err)
    assert "HTTP 401" in out and "only NTLM was left" in out and "Server not found" in out
    for word in ("DNS name, not an IP address", "SPN HTTP/10.0.0.5", "realm", "KRB5_CONFIG",
                 "kerberos_hostname_override", "check username and password"):
        assert word in out, word
    assert "Extended Protection" not in out and "\n" not in out


def test_by_name_does_not_blame_the_ip():
    out = text(auth_refused("X", "u@EX.TEST", "transport", "kerberos", "http", "ex01.ex.test", "Server not found",
                            "WinRM"))
    assert "SPN HTTP/ex01.ex.test" in out and "not an IP address" not in out


def test_empty_cache_says_kinit():
    out = text(auth_refused("X", "u@EX.TEST", "transport", "kerberos", "http", "ex01.ex.test",
                            "Can't find client principal u@EX.TEST in cache collection", "WinRM"))
    assert "kinit u@EX.TEST" in out and "KRB5CCNAME" in out


@pytest.mark.parametrize("auth", ["ntlm", "negotiate", "kerberos"])
def test_https_names_extended_protection(auth):
    out = text(auth_refused("X", "u", "transport", auth, "https", "ex01.ex.test", None, "WinRM"))
    assert "Extended Protection (channel binding)" in out and "TLS-terminating proxy" in out


def test_basic_is_not_blamed_on_extended_protection():
    out = text(auth_refused("X", "u", "transport", "basic", "https", "ex01.ex.test", None, "WinRM"))
    assert "Extended Protection" not in out and "check username and password" in out


def test_ntlm_points_at_kerberos():
    out = text(auth_refused("X", "EX\\u", "transport", "ntlm", "http", "10.0.0.5", None, "WinRM"))
    assert "NTLM is switched off" in out and "transport kerberos" in out and "user@REALM" in out


def test_kerberos_failure_before_the_server_is_not_a_401():
    err = auth_refused("X", "u@EX.TEST", "psrp_transport", "kerberos", "http", "10.0.0.5",
                       "Cannot contact any KDC for realm 'EX.TEST'", "IIS", status=None)
    assert "401" not in err.cause and "no Kerberos ticket" in err.cause and "Cannot contact any KDC" in err.cause
    assert "DNS name" in err.fix
