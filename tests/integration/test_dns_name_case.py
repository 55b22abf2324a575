"""Zone and record names compare case-insensitively on every provider (issue 26 item 5): an upper-case zone or
record name finds the same mxHero MX, and a real run removes it. Azure DNS has its own test (its emulator)."""

from __future__ import annotations

import pytest
import yaml

from helpers import provider_args, run_module
from unroute_lab import cli as lab_cli
from unroute_lab.manifest import Lab

pytestmark = pytest.mark.lab

PROVIDERS = ["bind", "route53", "cloudflare", "powerdns", "google_cloud_dns", "lexicon"]


def zone(provider, case):
    return "%s.%s.test" % (case, provider.replace("_", "-"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("case-lab")
    domains = []
    for provider in PROVIDERS:
        for case in ("upper", "record"):
            name = zone(provider, case)
            section = {"records": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.%s." % name,
                                   "mail 3600 IN A 192.0.2.10"]}
            if provider != "bind":
                section["provider"] = provider
            domains.append({"name": name, "dns": section})
    (directory / "estate.yml").write_text(yaml.safe_dump({"domains": domains}))
    lab_cli.up(str(directory / "estate.yml"), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def mx(lab, name):
    return sorted(line.split(" IN MX ", 1)[1] for line in lab.records(name) if " IN MX " in line)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_upper_case_zone_finds_and_removes_the_mxhero_mx(lab, provider):
    name = zone(provider, "upper")
    args = dict(provider_args(lab, name), zone=name.upper())
    audit = run_module("dns_mx", args, check_mode=True)
    assert not audit.get("failed"), audit
    assert [(f["object"], f["action"]) for f in audit["findings"]] == [
        ("%s. MX 10 smtp-in.mxhero.com." % name, "would_remove")], audit["findings"]
    real = run_module("dns_mx", args)
    assert not real.get("failed") and real["changed"], real
    assert mx(lab, name) == ["20 mail.%s." % name]
    assert run_module("dns_mx", args)["changed"] is False


@pytest.mark.parametrize("provider", PROVIDERS)
def test_upper_case_record_name_is_the_same_owner(lab, provider):
    name = zone(provider, "record")
    args = dict(provider_args(lab, name), record=name.upper() + ".")
    audit = run_module("dns_mx", args, check_mode=True)
    assert not audit.get("failed"), audit
    assert [f["action"] for f in audit["findings"]] == ["would_remove"], audit["findings"]
