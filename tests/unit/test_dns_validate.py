"""Option checks of the DNS modules: what is refused, what passes, and that every refusal is one line."""

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import _combine, _mark, as_unroute_error

FP = Fingerprint()


@pytest.mark.parametrize("name", ["example.com", "example.com.", "_dmarc.example.com", "a-b.example", "x" * 63 + ".t"])
def test_good_owner_names(name):
    assert validate.name_problem(name) is None


@pytest.mark.parametrize("name, problem", [
    ("", "empty"), (".", "empty"), ("exa..mple.test", "empty label"), (".example.com", "empty label"),
    ("ex ample.com", "space"), ("x" * 64 + ".test", "at most 63"), (".".join(["a" * 60] * 5), "at most 255"),
    ("☃.example", "IDNA 2008"), ("xn--zz.example", "no valid A-label"), ("-bad.example", "label '-bad'"), ("a/b.example", "label 'a/b'"),
])
def test_bad_owner_names(name, problem):
    assert problem in validate.name_problem(name)


def test_wildcard_only_as_the_first_label_of_a_record():
    assert validate.check_record("example.com", "record", "*.example.com") == "*.example.com."
    with pytest.raises(UnrouteError):
        validate.check_record("example.com", "record", "a.*.example.com")


@pytest.mark.parametrize("exchange", ["192.0.2.25", "192.0.2.25.", "[192.0.2.25]", "2001:db8::1", "IPv6:2001:db8::1",
                                      "", " ", ".", "mail", "mail.123", "mail_x.example.com", "smtp.mxhero.com",
                                      # A relay's spelling is no MX target (the grammar lives in _names.py).
                                      "[mail.example.com]", "mail.example.com:25", "[mail.example.com]]:25",
                                      "10.0.0", None])
def test_bad_exchanges(exchange):
    with pytest.raises(UnrouteError) as err:
        validate.check_exchange("example.com", "replacement[0].exchange", exchange, FP)
    assert str(err.value).startswith("example.com: option replacement[0].exchange ")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("exchange", ["smtp.google.com", "SMTP.Google.COM.", "example-com.mail.protection.outlook.com"])
def test_good_exchanges(exchange):
    validate.check_exchange("example.com", "replacement[0].exchange", exchange, FP)


@pytest.mark.parametrize("preference", [-1, 65536, 70000, True, "10", None])
def test_bad_preferences(preference):
    with pytest.raises(UnrouteError):
        validate.check_preference("example.com", "replacement[0].preference", preference)


def test_records_are_deduplicated_in_order():
    assert validate.check_records("Example.com", records=["example.com", "www.example.com.", "EXAMPLE.COM"]) == [
        "example.com.", "www.example.com."]


def test_server_ip_passes_without_resolving_and_a_bad_name_is_refused():
    assert validate.check_server("example.com", "192.0.2.53", 53) == ["192.0.2.53"]
    assert validate.check_server("example.com", "[2001:db8::53]", 53) == ["2001:db8::53"]
    assert validate.check_server("example.com", "", 53) is None
    assert "127.0.0.1" in validate.check_server("example.com", "localhost", 53)
    with pytest.raises(UnrouteError) as err:
        validate.check_server("example.com", "ns1.nowhere.invalid", 53)
    assert str(err.value).startswith("example.com: option server 'ns1.nowhere.invalid': ")


def test_secret_never_in_the_message():
    with pytest.raises(UnrouteError) as err:
        validate.check_key("example.com", "unroute", "s3cret not base64!", "hmac-sha256")
    assert "s3cret" not in str(err.value) and "option key_secret (hidden)" in str(err.value)


def test_library_errors_become_one_line():
    err = as_unroute_error("example.com", "example.com. MX", EOFError())
    assert str(err).startswith("example.com: example.com. MX: unexpected EOFError: (no message); ")


def test_unknown_outcome_keeps_the_removal_and_fails():
    part = {"changed": True, "findings": [{"action": "removed", "object": "example.com. MX 10 smtp-in.mxhero.com."}],
            "removed": [{"record": "example.com.", "value": "10 smtp-in.mxhero.com."}], "added": [],
            "before": {"record": "example.com."}, "after": {"record": "example.com."}}
    lost = {"outcome": "unknown", "cause": "no answer", "fix": "look"}
    result = _combine([_mark(part, lost)], UnrouteError("example.com", "example.com. MX", "no answer", "look"), False)
    assert result["failed"] and result["removed"][0]["outcome"] == "unknown"
    assert result["findings"][0]["action"] == "unknown"
    assert result["partial"] == ["example.com. MX 10 smtp-in.mxhero.com. (outcome unknown)"]
