"""dns-lexicon provider: how lexicon's records and failures become the engine's values and one-line errors."""

from __future__ import annotations

import json

import pytest
import requests

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import lexicon as lx

GODADDY_KEY, GODADDY_SECRET = "dKD3fqS2-godaddy-key", "Xa81bQ-godaddy-secret"


def _response(status, body, url):
    resp = requests.models.Response()
    resp.status_code = status
    resp._content = json.dumps(body).encode()
    resp.url = url
    resp.headers["Content-Type"] = "application/json"
    return resp


def test_godaddy_access_denied_says_why_and_what_to_do(monkeypatch):
    """GoDaddy's production API answers 403 ACCESS_DENIED to accounts under 10 domains without Premier (body as
    GoDaddy documents its errors: code + message)."""
    seen = []

    def godaddy(self, method, url, **kwargs):
        seen.append((method, url))
        return _response(403, {"code": "ACCESS_DENIED", "message": "Authenticated user is not allowed access"}, url)

    monkeypatch.setattr(requests.Session, "request", godaddy)
    provider = lx.LexiconProvider("example.com", "godaddy", {"auth_key": GODADDY_KEY, "auth_secret": GODADDY_SECRET})
    with pytest.raises(UnrouteError) as caught:
        provider.check_zone("example.com")
    msg = str(caught.value)
    assert any("api.godaddy.com/v1/domains/example.com" in url for dummy, url in seen)
    assert msg.startswith("example.com: zone example.com: GoDaddy's API answered 403 ACCESS_DENIED")
    assert "10 or more domains" in msg and "Premier" in msg and "GoDaddy > My Products > example.com > DNS" in msg
    assert "\n" not in msg and GODADDY_KEY not in msg and GODADDY_SECRET not in msg


def test_another_hosts_403_is_a_credentials_line_without_the_secret(monkeypatch):
    monkeypatch.setattr(requests.Session, "request", lambda self, method, url, **kw: _response(
        403, {"message": "token %s is not valid" % GODADDY_SECRET}, url))
    provider = lx.LexiconProvider("example.com", "hetzner", {"auth_token": GODADDY_SECRET})
    with pytest.raises(UnrouteError) as caught:
        provider.check_zone("example.com")
    assert "refused the credentials (HTTP 403" in str(caught.value) and GODADDY_SECRET not in str(caught.value)


@pytest.mark.parametrize("name,cause", [("nosuchhost", "dns-lexicon has no provider of that name"),
                                        ("../etc", "not a lexicon provider name")])
def test_an_unknown_lexicon_provider_is_one_line(name, cause):
    with pytest.raises(UnrouteError) as caught:
        lx.LexiconProvider("example.com", name, {})
    assert str(caught.value).startswith("example.com: option lexicon_provider %r: %s" % (name, cause))


@pytest.mark.parametrize("rdtype,record,value", [
    ("MX", {"content": "10 smtp-in.mxhero.com."}, "10 smtp-in.mxhero.com."),
    ("MX", {"content": "smtp-in.mxhero.com", "options": {"mx": {"priority": 5}}}, "5 smtp-in.mxhero.com."),
    ("MX", {"content": "mail.example.com", "priority": 20}, "20 mail.example.com."),
    ("TXT", {"content": "v=spf1 include:spf.mxhero.com ~all"}, '"v=spf1 include:spf.mxhero.com ~all"'),
    # Several strings, as lexicon's powerdns provider hands them once it strips the outer quotes.
    ("TXT", {"content": 'v=spf1 ip4:192.0.2.1 " "-all'}, '"v=spf1 ip4:192.0.2.1 -all"'),
])
def test_lexicon_records_become_presentation_values(rdtype, record, value):
    assert lx._value(rdtype, record) == value


def test_txt_content_is_the_text_unless_it_needs_several_strings():
    assert lx._content("TXT", '"v=spf1 " "-all"') == "v=spf1 -all"
    long_value = '"%s" "%s"' % ("a" * 255, "b" * 10)
    assert lx._content("TXT", long_value) == long_value


def test_an_upper_case_zone_reaches_lexicon_in_lower_case(monkeypatch):
    """Lexicon's providers match record names with endswith(domain): an upper-case zone used to read as empty
    (issue 26 item 5). PowerDNS's API path names the zone; the request shows what lexicon was given."""
    seen = []

    def powerdns(self, method, url, **kwargs):
        seen.append(url)
        return _response(200, {"name": "acme.example.", "rrsets": []}, url)

    monkeypatch.setattr(requests.Session, "request", powerdns)
    provider = lx.LexiconProvider("ACME.Example", "powerdns", {"pdns_server": "http://pdns.test", "auth_token": "t"})
    provider.check_zone("ACME.Example")
    assert seen and all("/zones/acme.example." in url for url in seen), seen
    assert provider.zone_text == "ACME.Example"  # errors still name the zone as the inventory spells it
