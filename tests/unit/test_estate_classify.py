"""Platform detection from MX names, as the estate inventory plugin does it."""

import pytest

from ansible_collections.mxhero.unroute.plugins.inventory.estate import classify_mx
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint

FP = Fingerprint()


@pytest.mark.parametrize("exchanges,platform", [
    (["smtp.google.com."], "google"),
    (["ASPMX.L.GOOGLE.COM.", "alt1.aspmx.l.google.com."], "google"),
    (["acme-example.mail.protection.outlook.com."], "microsoft365"),
    (["smtp-in.mxhero.com."], "mxhero"),
    (["smtp-in.mxhero.com.", "1 smtp.google.com".split()[1]], "google"),
    (["mail.acme.example."], "other"),
    (["google.com.evil.example."], "other"),
    (["mail.protection.outlook.com.evil.example."], "other"),
])
def test_classify(exchanges, platform):
    assert classify_mx(exchanges, FP) == platform


@pytest.mark.parametrize("nameservers,found", [
    (["ns1-01.azure-dns.com.", "ns2-01.azure-dns.net.", "ns3-01.azure-dns.org.", "ns4-01.azure-dns.info."],
     ("azure", "azure")),
    (["NS-CLOUD-A1.GOOGLEDOMAINS.COM.", "ns-cloud-a2.googledomains.com."], ("google_cloud_dns", "google_cloud_dns")),
    (["ns51.domaincontrol.com.", "ns52.domaincontrol.com."], ("manual", "godaddy")),
    (["ns1.azure-dns.com.evil.example."], (None, None)),
    (["ns-cloud-a1.googledomains.com.evil.example."], (None, None)),
])
def test_ns_detection_names_the_cloud_providers(nameservers, found):
    from ansible_collections.mxhero.unroute.plugins.inventory.estate import classify_ns
    assert classify_ns(nameservers) == found
