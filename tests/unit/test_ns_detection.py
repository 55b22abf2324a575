"""The DNS provider from NS host names: the patterns of the reference table, and the user's own first."""

import pytest

from ansible_collections.mxhero.unroute.plugins.inventory.estate import classify_ns


@pytest.mark.parametrize("nameservers,expected", [
    (["ada.ns.cloudflare.com.", "bob.ns.cloudflare.com."], ("cloudflare", "cloudflare")),
    (["ns-1536.awsdns-00.co.uk.", "ns-0.awsdns-00.com."], ("route53", "route53")),
    (["ns-512.awsdns-63.net"], ("route53", "route53")),
    # Azure DNS and Google Cloud DNS have API providers since issue 12.
    (["NS1-03.AZURE-DNS.COM."], ("azure", "azure")),
    (["ns4-03.azure-dns.info."], ("azure", "azure")),
    (["ns-cloud-a1.googledomains.com."], ("google_cloud_dns", "google_cloud_dns")),
    (["ns51.domaincontrol.com.", "ns52.domaincontrol.com."], ("manual", "godaddy")),
    (["ns1.bdm.microsoftonline.com."], ("manual", "microsoft365")),
    (["ns1.example.net.", "ns2.example.net."], (None, None)),
    ([], (None, None)),
    # lookalikes of the patterns are not the provider
    (["ns.cloudflare.com.evil.example."], (None, None)),
    (["ns-1.awsdns-1.com.example."], (None, None)),
])
def test_builtin_patterns(nameservers, expected):
    assert classify_ns(nameservers) == expected


def test_user_patterns_come_first_and_may_name_a_manual_host():
    extra = [("ns*.example.net", "powerdns"), ("dns*.squarespacedns.test", "manual:squarespace")]
    assert classify_ns(["ns1.example.net."], extra) == ("powerdns", "powerdns")
    assert classify_ns(["dns1.squarespacedns.test."], extra) == ("manual", "squarespace")
    assert classify_ns(["ada.ns.cloudflare.com."], [("*.cloudflare.com", "rfc2136")]) == ("rfc2136", "rfc2136")
