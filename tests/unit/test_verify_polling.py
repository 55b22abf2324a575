"""verify.py's polling without a network: servers that catch up late, never, or cannot be reached."""

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

from ansible_collections.mxhero.unroute.plugins.module_utils._dns import verify

NEW = ["20 mail.a.test."]
OLD = ["10 smtp-in.mxhero.com.", "20 mail.a.test."]


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def answer(values, aa=True, rcode=dns.rcode.NOERROR):
    query = dns.message.make_query("a.test.", "MX")
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if not aa:
        response.flags &= ~dns.flags.AA
    else:
        response.flags |= dns.flags.AA
    if values:
        response.answer.append(dns.rrset.from_text_list("a.test.", 3600, "IN", "MX", values))
    return response


def run(monkeypatch, servers, behaviour, verify_timeout=5):
    clock = Clock()
    monkeypatch.setattr(verify, "find_servers", lambda *a: servers)

    def query(name, rdtype, address, port, timeout):
        return behaviour[address](clock.now)
    monkeypatch.setattr(verify, "_query", query)
    return verify.verify("a.test", [("a.test.", "MX", NEW)], port=5353, verify_timeout=verify_timeout,
                         clock=clock, sleep=clock.sleep)


def test_late_never_and_silent_servers(monkeypatch):
    def late(now):
        return answer(NEW if now >= 1.0 else OLD)

    def dead(now):
        raise OSError("connection refused")
    results, warnings = run(monkeypatch, [("ns1.a.test.", "192.0.2.1"), ("ns2.a.test.", "192.0.2.2"),
                                          ("ns3.a.test.", "192.0.2.3"), ("ns4.other.test.", None)],
                            {"192.0.2.1": late, "192.0.2.2": lambda now: answer(OLD), "192.0.2.3": dead})
    states = {r["server"]: (r["state"], r["waited"]) for r in results}
    assert states["ns1.a.test."][0] == "current" and 1.0 <= states["ns1.a.test."][1] < 2.0
    assert states["ns2.a.test."] == ("stale", 5.0)
    assert states["ns3.a.test."][0] == "unreachable" and "OSError" in results[2]["detail"]
    assert states["ns4.other.test."] == ("unreachable", 0.0) and "no A or AAAA" in results[3]["detail"]
    assert len(warnings) == 3
    assert warnings[0].startswith("nameserver ns2.a.test. (192.0.2.2) still serves the old a.test. MX after 5.0s")
    assert "ns3.a.test. (192.0.2.3) could not confirm" in warnings[1]
    assert "ns4.other.test. could not confirm" in warnings[2]


def test_answers_without_authority_prove_nothing(monkeypatch):
    results, warnings = run(monkeypatch, [("ns1.a.test.", "192.0.2.1"), ("ns2.a.test.", "192.0.2.2")],
                            {"192.0.2.1": lambda now: answer(NEW, aa=False),
                             "192.0.2.2": lambda now: answer([], rcode=dns.rcode.SERVFAIL)}, verify_timeout=0)
    assert [(r["state"], r["detail"]) for r in results] == [
        ("unreachable", "answered NOERROR without authority"), ("unreachable", "answered SERVFAIL")]
    assert len(warnings) == 2


def test_zero_timeout_asks_once_and_case_does_not_matter(monkeypatch):
    asked = []

    def upper(now):
        asked.append(now)
        return answer(["20 MAIL.A.TEST."])
    results, warnings = run(monkeypatch, [("ns1.a.test.", "192.0.2.1")], {"192.0.2.1": upper}, verify_timeout=0)
    assert [r["state"] for r in results] == ["current"] and warnings == [] and len(asked) == 1


def test_no_servers_found_is_a_warning(monkeypatch):
    def missing(*args):
        raise verify.NotFound("a.test. NS: the system resolver failed (Timeout)")
    monkeypatch.setattr(verify, "find_servers", missing)
    results, warnings = verify.verify("a.test", [("a.test.", "MX", NEW)])
    assert results == [] and warnings == [
        "the change is not proven on the zone's nameservers: a.test. NS: the system resolver failed (Timeout)"]


def test_changed_rrsets_only_what_changed():
    single = {"before": {"record": "a.test.", "type": "TXT", "values": ['"x"']},
              "after": {"record": "a.test.", "type": "TXT", "values": ['"y"']}}
    assert verify.changed_rrsets(single) == [("a.test.", "TXT", ['"y"'])]
    keyed = {"before": {"a.test.": {"record": "a.test.", "type": "MX", "values": OLD},
                        "b.a.test.": {"record": "b.a.test.", "type": "MX", "values": NEW}},
             "after": {"a.test.": {"record": "a.test.", "type": "MX", "values": NEW},
                       "b.a.test.": {"record": "b.a.test.", "type": "MX", "values": NEW}}}
    assert verify.changed_rrsets(keyed) == [("a.test.", "MX", NEW)]
    assert verify.changed_rrsets({"changed": False}) == []
