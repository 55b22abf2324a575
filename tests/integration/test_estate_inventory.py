"""The estate inventory plugin against the lab's BIND: detection, CSV, credentials groups, bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def inventory(path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(path), "--list"],
                          capture_output=True, text=True, env=env, cwd=str(ROOT))
    return proc


def plain(value):
    """ansible-inventory marks strings from plugins as unsafe: {"__ansible_unsafe": "x"} -> "x"."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def test_detects_platforms_from_mx(default_lab):
    proc = inventory(default_lab.dir / "domains.estate.yml")
    assert proc.returncode == 0, proc.stderr
    data = plain(json.loads(proc.stdout))
    assert "spf-include.test" in data["google"]["hosts"]          # MX 1 smtp.google.com
    assert "mx-sole.test" in data["detected_mxhero"]["hosts"]     # only mxHero MX: platform unknown
    assert "mx-sole.test" in data["other"]["hosts"]
    assert "lookalike.test" in data["other"]["hosts"]             # notmxhero.com is not mxHero
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["mx-partial.test"]["unroute_detected_mx"] == ["mail.mx-partial.test.", "smtp-in.mxhero.com."]
    assert hostvars["mx-partial.test"]["ansible_connection"] == "local"


def test_csv_source_credentials_and_explicit_platform(default_lab, tmp_path):
    (tmp_path / "customers.csv").write_text(
        "domain,platform,credentials,unroute_note\nmx-partial.test,,dns-a,first\nclean.test,exchange,tenant b,\n")
    dns = default_lab.dns
    (tmp_path / "c.estate.yml").write_text(
        "plugin: mxhero.unroute.estate\nsource: customers.csv\nnameservers: [%s]\nport: %d\n" % (dns["server"],
                                                                                              dns["port"]))
    proc = inventory(tmp_path / "c.estate.yml")
    assert proc.returncode == 0, proc.stderr
    data = plain(json.loads(proc.stdout))
    assert data["exchange"]["hosts"] == ["clean.test"]                # given platform wins over MX
    assert data["credentials_tenant_b"]["hosts"] == ["clean.test"]
    assert data["other"]["hosts"] == ["mx-partial.test"]
    assert data["_meta"]["hostvars"]["mx-partial.test"]["unroute_note"] == "first"
    assert data["credentials_dns_a"]["hosts"] == ["mx-partial.test"]


def test_bad_platform_and_duplicates_fail_clearly(tmp_path):
    (tmp_path / "bad.estate.yml").write_text(
        "plugin: mxhero.unroute.estate\ndetect_platform: false\ndomains:\n  - {domain: a.test, platform: lotus}\n")
    proc = inventory(tmp_path / "bad.estate.yml")
    assert "platform 'lotus' is not one of" in proc.stderr
    (tmp_path / "dup.estate.yml").write_text(
        "plugin: mxhero.unroute.estate\ndetect_platform: false\ndomains: [a.test, A.test.]\n")
    proc = inventory(tmp_path / "dup.estate.yml")
    assert "listed twice" in proc.stderr


def test_platform_mta_is_a_platform_group(tmp_path):
    (tmp_path / "mta.estate.yml").write_text(
        "plugin: mxhero.unroute.estate\ndetect_platform: false\ndomains:\n  - {domain: a.test, platform: mta}\n")
    proc = inventory(tmp_path / "mta.estate.yml")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mta"]["hosts"] == ["a.test"]
    assert plain(data["_meta"]["hostvars"]["a.test"])["unroute_platform"] == "mta"


def test_csv_unicode_domain_is_one_host_by_its_alabel(default_lab, tmp_path):
    # Issue 24: a customer list holds the name as people write it; the host is the A-label DNS carries.
    (tmp_path / "customers.csv").write_text("domain,platform,credentials\nbücher.test,,dns-a\n", encoding="utf-8")
    dns = default_lab.dns
    (tmp_path / "u.estate.yml").write_text(
        "plugin: mxhero.unroute.estate\nsource: customers.csv\nnameservers: [%s]\nport: %d\n" % (dns["server"],
                                                                                              dns["port"]))
    proc = inventory(tmp_path / "u.estate.yml")
    assert proc.returncode == 0, proc.stderr
    data = plain(json.loads(proc.stdout))
    # Detected through the lab's BIND, which serves the A-label zone: mxHero MX next to the customer's own.
    assert data["other"]["hosts"] == ["xn--bcher-kva.test"]
    assert data["_meta"]["hostvars"]["xn--bcher-kva.test"]["unroute_detected_mx"] == [
        "mail.xn--bcher-kva.test.", "smtp-in.mxhero.com."]
    assert data["credentials_dns_a"]["hosts"] == ["xn--bcher-kva.test"]
    assert data["_meta"]["hostvars"]["xn--bcher-kva.test"]["unroute_domain"] == "xn--bcher-kva.test"


def test_unicode_and_alabel_spellings_are_one_domain_and_bad_names_one_line(tmp_path):
    (tmp_path / "dup.estate.yml").write_text(
        "plugin: mxhero.unroute.estate\ndetect_platform: false\ndomains: [bücher.test, XN--BCHER-KVA.test]\n",
        encoding="utf-8")
    proc = inventory(tmp_path / "dup.estate.yml")
    assert "domain xn--bcher-kva.test is listed twice" in proc.stderr
    (tmp_path / "bad.estate.yml").write_text(
        "plugin: mxhero.unroute.estate\ndetect_platform: false\ndomains: [☃.test]\n", encoding="utf-8")
    proc = inventory(tmp_path / "bad.estate.yml")
    assert "estate: ☃.test: the domain name is no valid internationalised domain name" in proc.stderr
