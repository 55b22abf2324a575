"""DNS modules against a real BIND 9: the anchor cases, check mode, diff, idempotence, concurrency, errors."""

import socket
import threading

import dns.query
import dns.tsigkeyring
import dns.update
import pytest

from helpers import dns_args, run_module
from unroute_lab import cli as lab_cli
from unroute_lab.estate import load
from unroute_lab.manifest import Lab
from helpers import DEFAULT_ESTATE

pytestmark = pytest.mark.lab

EXTRA = [
    {"name": "race.test", "dns": {"records": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.race.test.",
                                              '@ 3600 IN TXT "v=spf1 include:spf.mxhero.com mx -all"',
                                              "mail 3600 IN A 192.0.2.1"]}},
    {"name": "replace.test", "dns": {"records": ["@ 3600 IN MX 10 smtp-in.mxhero.com."]}},
    {"name": "errors.test", "dns": {"records": ["@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.errors.test.",
                                                "mail 3600 IN A 192.0.2.1"]}},
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    import yaml
    directory = tmp_path_factory.mktemp("dns-lab")
    estate = yaml.safe_load(DEFAULT_ESTATE.read_text())
    estate["domains"] = [d for d in estate["domains"] if d.get("platform", "other") == "other"] + EXTRA
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump(estate))
    load(path)
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def records(lab, zone, rdtype, name=None):
    name = name or zone + "."
    return sorted(line.split(" IN %s " % rdtype, 1)[1] for line in lab.records(zone)
                  if line.startswith(name + " ") and " IN %s " % rdtype in line)


def test_one_mx_removed_leaves_the_others(lab):
    zone = "mx-partial.test"
    before = records(lab, zone, "MX")
    audit = run_module("dns_mx", dns_args(lab, zone), check_mode=True, diff=True)
    assert records(lab, zone, "MX") == before, "check mode wrote to the zone"
    real = run_module("dns_mx", dns_args(lab, zone), diff=True)
    assert records(lab, zone, "MX") == ["20 mail.mx-partial.test."]
    # check mode told the truth: same findings (but for the action word), same diff, same removed list
    assert audit["changed"] and real["changed"]
    assert [f["action"] for f in audit["findings"]] == ["would_remove"]
    assert [f["action"] for f in real["findings"]] == ["removed"]
    strip = lambda fs: [{k: v for k, v in f.items() if k != "action"} for f in fs]  # noqa: E731
    assert strip(audit["findings"]) == strip(real["findings"])
    assert audit["diff"] == real["diff"]
    assert audit["removed"] == real["removed"] == [
        {"record": "mx-partial.test.", "type": "MX", "ttl": 3600, "value": "10 smtp-in.mxhero.com.",
         "rrset": ["10 smtp-in.mxhero.com.", "20 mail.mx-partial.test."]}]
    assert real["diff"]["after"]["values"] == ["20 mail.mx-partial.test."]
    again = run_module("dns_mx", dns_args(lab, zone), diff=True)
    assert not again["changed"] and again["findings"] == [] and again["removed"] == []
    assert again["diff"]["before"] == again["diff"]["after"]


def test_spf_edit_keeps_other_txt_records(lab):
    zone = "spf-include.test"
    other_txt = [v for v in records(lab, zone, "TXT") if "spf1" not in v]
    assert len(other_txt) == 2
    audit = run_module("dns_spf", dns_args(lab, zone), check_mode=True, diff=True)
    real = run_module("dns_spf", dns_args(lab, zone), diff=True)
    txt = records(lab, zone, "TXT")
    assert '"v=spf1 include:_spf.google.com ~all"' in txt
    assert all(v in txt for v in other_txt) and len(txt) == 3
    assert audit["diff"] == real["diff"] and audit["spf_after"] == real["spf_after"]
    assert real["removed"][0]["terms"] == ["include:spf.mxhero.com"]
    assert real["removed"][0]["value"] == '"v=spf1 include:_spf.google.com include:spf.mxhero.com ~all"'
    assert not run_module("dns_spf", dns_args(lab, zone))["changed"]


def test_spf_ips_qualifiers_modifiers_and_ttl_kept(lab):
    zone = "spf-ip.test"
    result = run_module("dns_spf", dns_args(lab, zone))
    assert result["spf_after"] == ("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -ip4:198.51.100.7 mx "
                                   "exp=explain.spf-ip.test ~all")
    line = [x for x in lab.records(zone) if " TXT " in x][0]
    assert " 1800 IN TXT " in line  # TTL kept


def test_long_spf_is_resplit_under_255(lab):
    zone = "spf-long.test"
    result = run_module("dns_spf", dns_args(lab, zone))
    assert result["changed"] and "mxhero" not in result["spf_after"]
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    value = records(lab, zone, "TXT")[0]
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, value)
    assert len(rdata.strings) >= 2 and all(len(s) <= 255 for s in rdata.strings)
    assert b"".join(rdata.strings).decode() == result["spf_after"]
    assert result["spf_after"].count("ip4:") == 29


def test_two_spf_records_are_refused(lab):
    zone = "spf-double.test"
    before = records(lab, zone, "TXT")
    result = run_module("dns_spf", dns_args(lab, zone))
    assert result.get("failed") and "permerror" in result["msg"] and result["msg"].startswith(zone)
    assert records(lab, zone, "TXT") == before


def test_spf_that_authorises_nobody_warns(lab):
    result = run_module("dns_spf", dns_args(lab, "spf-nobody.test"))
    assert result["spf_after"] == "v=spf1 -all"
    assert any("authorises no sender" in w for w in result.get("warnings", []))


def test_sole_mx_is_refused_then_replaced_in_one_update(lab):
    zone = "replace.test"
    refused = run_module("dns_mx", dns_args(lab, zone))
    assert refused.get("failed") and "without MX records" in refused["msg"] and "replacement" in refused["msg"]
    assert records(lab, zone, "MX") == ["10 smtp-in.mxhero.com."]
    args = dns_args(lab, zone, replacement=[{"preference": 1, "exchange": "smtp.google.com"}])
    audit = run_module("dns_mx", args, check_mode=True, diff=True)
    assert audit["diff"]["after"]["values"] == ["1 smtp.google.com."]
    assert records(lab, zone, "MX") == ["10 smtp-in.mxhero.com."]
    real = run_module("dns_mx", args)
    assert real["added"] == [{"record": "replace.test.", "type": "MX", "ttl": 3600, "value": "1 smtp.google.com."}]
    assert records(lab, zone, "MX") == ["1 smtp.google.com."]
    assert not run_module("dns_mx", args)["changed"]


def test_replacement_may_not_be_mxhero(lab):
    result = run_module("dns_mx", dns_args(lab, "mx-sole.test",
                                           replacement=[{"preference": 1, "exchange": "smtp.mxhero.com"}]))
    assert result.get("failed") and "may not itself be an mxHero host" in result["msg"]


def test_lookalikes_and_clean_domains_untouched(lab):
    for zone in ("lookalike.test", "clean.test"):
        before = lab.records(zone)
        for module in ("dns_mx", "dns_spf"):
            result = run_module(module, dns_args(lab, zone))
            assert not result["changed"] and result["findings"] == [], (zone, module, result)
        assert lab.records(zone) == before
    info = run_module("dns_info", dns_args(lab, "lookalike.test"))
    assert info["findings"] == []


def test_sub_name_record(lab):
    zone = "branch.test"
    result = run_module("dns_mx", dns_args(lab, zone, record="eu.branch.test"))
    assert result["changed"]
    assert records(lab, zone, "MX", "eu.branch.test.") == ["20 mail.branch.test."]
    assert records(lab, zone, "MX") == ["10 mail.branch.test."]


def test_record_outside_zone_is_refused(lab):
    result = run_module("dns_mx", dns_args(lab, "branch.test", record="www.example.org"))
    assert result.get("failed") and "not inside zone branch.test" in result["msg"]


def test_info_reports_mx_spf_and_dkim(lab):
    result = run_module("dns_info", dns_args(lab, "dkim.test"))
    kinds = sorted(f["kind"] for f in result["findings"])
    assert kinds == ["dkim_cname", "mx_record", "spf_term"]
    assert all(f["action"] == "reported" for f in result["findings"])
    assert not result["changed"]


def test_concurrent_change_between_read_and_write_is_not_overwritten(lab):
    """Someone adds an MX between our read and our write: NXRRSET, re-read, their record survives."""
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DnsEngine
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rfc2136 import Rfc2136Provider
    from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
    zone = "race.test"
    d = lab.dns
    provider = Rfc2136Provider(zone, server=d["server"], port=d["port"], key_name=d["key_name"],
                               key_secret=lab.tsig_secret)
    engine = DnsEngine(provider, zone, Fingerprint())
    calls = []

    def someone_else():
        if calls:
            return
        calls.append(1)
        update = dns.update.UpdateMessage(zone, keyring=dns.tsigkeyring.from_text({d["key_name"]: lab.tsig_secret}),
                                          keyalgorithm=d["key_algorithm"])
        update.add(zone + ".", 3600, "MX", "30 other.example.")
        response = dns.query.tcp(update, d["server"], port=d["port"], timeout=5)
        assert response.rcode() == 0

    engine.before_write = someone_else
    result = engine.mx()
    assert calls == [1]
    assert records(lab, zone, "MX") == ["20 mail.race.test.", "30 other.example."]
    assert result["after"]["values"] == ["20 mail.race.test.", "30 other.example."]


def test_wrong_tsig_secret_is_one_clear_error_without_the_secret(lab):
    zone = "errors.test"
    before = lab.records(zone)
    wrong = "c2VjcmV0LXRoYXQtaXMtd3JvbmctMTIzNDU2Nzg5MA=="
    result = run_module("dns_mx", dns_args(lab, zone, key_secret=wrong))
    assert result.get("failed")
    assert result["msg"].startswith("errors.test: ") and "TSIG" in result["msg"] and "key_secret" in result["msg"]
    assert wrong not in str(result) and lab.tsig_secret not in str(result)
    assert "Traceback" not in str(result)
    assert lab.records(zone) == before


def test_refused_update_is_one_clear_error(lab):
    zone = "readonly.test"
    before = lab.records(zone)
    result = run_module("dns_mx", dns_args(lab, zone))
    assert result.get("failed") and "REFUSED" in result["msg"] and "update-policy" in result["msg"]
    assert result["msg"].startswith("readonly.test: ")
    assert lab.records(zone) == before
    # check mode of a refused zone still audits (reads are allowed)
    audit = run_module("dns_mx", dns_args(lab, zone), check_mode=True)
    assert audit["changed"] and audit["findings"][0]["action"] == "would_remove"


def test_unknown_zone_is_not_authoritative(lab):
    result = run_module("dns_mx", dns_args(lab, "not-served.test"))
    assert result.get("failed") and "not-served.test" in result["msg"]
    assert "REFUSED" in result["msg"] or "authoritative" in result["msg"]


def test_timeout_and_unreachable_server(lab):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the TCP handshake (backlog) but never answers
    try:
        args = dns_args(lab, "errors.test", port=silent.getsockname()[1], timeout=1)
        result = run_module("dns_mx", args)
        assert result.get("failed") and "did not answer within 1.0s" in result["msg"]
    finally:
        silent.close()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = run_module("dns_mx", dns_args(lab, "errors.test", port=port, timeout=2))
    assert result.get("failed") and "cannot reach" in result["msg"]


def test_key_name_without_secret_is_bad_input(lab):
    args = dns_args(lab, "errors.test")
    del args["key_secret"]
    result = run_module("dns_mx", args)
    assert result.get("failed") and result["msg"].startswith("errors.test: option key_secret")
    assert "no secret is given while key_name 'unroute' is set" in result["msg"]


def test_parallel_runs_on_one_zone_remove_each_record_once(lab):
    """Two removals racing on the same RRset: both finish, nothing but mxHero records disappears."""
    zone = "mx-case.test"
    results = []
    threads = [threading.Thread(target=lambda: results.append(_engine_mx(lab, zone))) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert records(lab, zone, "MX") == ["30 mx.backup-provider.example."]
    assert sum(len(r["removed"]) for r in results) >= 2


def _engine_mx(lab, zone):
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DnsEngine
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rfc2136 import Rfc2136Provider
    from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
    d = lab.dns
    provider = Rfc2136Provider(zone, server=d["server"], port=d["port"], key_name=d["key_name"],
                               key_secret=lab.tsig_secret)
    return DnsEngine(provider, zone, Fingerprint()).mx()


def test_info_through_a_recursive_resolver_view(lab):
    """Without server:, dns_info reads what a resolver answers (here a resolver aimed at the lab's BIND)."""
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
    params = dict(dns_args(lab, "dkim.test", server=None, key_name=None, key_secret=None), record=None, timeout=5.0,
                  protocol="tcp", mxhero_domains=[], mxhero_ips=[], mxhero_name_patterns=[], match_cidrs=False)
    engine = dns_module.build_engine(params, read_only=True)
    engine.provider.resolver.nameservers = [lab.dns["server"]]
    engine.provider.resolver.port = lab.dns["port"]
    result = engine.info(checks=("mx", "dkim"), dkim_selectors=("mxh1", "none"))
    assert sorted(f["kind"] for f in result["findings"]) == ["dkim_cname", "mx_record"]
    assert result["findings"][-1]["object"] == "mxh1._domainkey.dkim.test. CNAME mxh1.dkim.mxhero.com."
    nothing = engine.info(record="nowhere.dkim.test", checks=("mx",))
    assert nothing["findings"] == [] and nothing["records"]["mx"] == []
