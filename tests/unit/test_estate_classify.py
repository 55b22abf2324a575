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
