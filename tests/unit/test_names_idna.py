"""Unicode domain names (issue 24): given in unicode or A-label form anywhere, worked on as the A-label DNS
carries, shown in both forms, and an invalid name refused in one line."""

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils import _names
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate


@pytest.mark.parametrize("given, alabel", [
    ("bücher.test", "xn--bcher-kva.test"),
    # UTS 46 mapping: case folding and the ideographic full stop, as a browser maps what a person types.
    ("BÜCHER。test", "xn--bcher-kva.test"),
    ("bücher.test.", "xn--bcher-kva.test."),
    ("xn--bcher-kva.test", "xn--bcher-kva.test"),
    ("_dmarc.bücher.test", "_dmarc.xn--bcher-kva.test"),
    ("Example.COM", "example.com"),
    ("münchen.bücher.test", "xn--mnchen-3ya.xn--bcher-kva.test"),
])
def test_to_alabel(given, alabel):
    assert _names.to_alabel(given) == alabel


@pytest.mark.parametrize("given, shown", [
    ("xn--bcher-kva.test", "bücher.test"), ("bücher.test", "bücher.test"), ("example.com", "example.com"),
    # A label that does not decode is shown as it is, never an error in a report.
    ("xn--zz.test", "xn--zz.test"),
])
def test_to_unicode(given, shown):
    assert _names.to_unicode(given) == shown


def test_both_forms_only_where_they_differ():
    assert _names.both_forms("xn--bcher-kva.test") == "bücher.test (xn--bcher-kva.test)"
    assert _names.both_forms("bücher.test") == "bücher.test (xn--bcher-kva.test)"
    assert _names.both_forms("example.com") == "example.com"


@pytest.mark.parametrize("name", ["☃.test", "a\u200db.test", "xn--zz.test", "bü cher.test"])
def test_invalid_names_get_one_clear_line(name):
    with pytest.raises(UnrouteError) as err:
        validate.check_zone(name)
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    assert "zone" in text and "give the zone's domain name" in text


def test_unicode_zone_and_records_are_worked_on_as_alabels():
    assert validate.check_zone("bücher.test") == "xn--bcher-kva.test."
    assert validate.check_records("bücher.test", records=["bücher.test", "www.xn--bcher-kva.test"]) == [
        "xn--bcher-kva.test.", "www.xn--bcher-kva.test."]
    normal = validate.normalise({"zone": "BÜCHER.test", "records": ["mail.bücher.test"], "record": None})
    assert normal["zone"] == "xn--bcher-kva.test" and normal["records"] == ["mail.xn--bcher-kva.test"]
    # Unconvertible names are left for the check to refuse with its one line.
    assert validate.normalise({"zone": "☃.test"})["zone"] == "☃.test"
