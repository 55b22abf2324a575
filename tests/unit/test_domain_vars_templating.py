"""Issue 21 (figures): how the engines template a domain's variables must not cost O(hosts) per domain, and
must give what Ansible's templating gives."""

from __future__ import annotations

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from helpers import ROOT

from ansible_collections.mxhero.unroute.plugins.module_utils._dns.zone import Chains, ZoneSet
from ansible_collections.mxhero.unroute.plugins.plugin_utils import _domain_run

DEFAULTS = yaml.safe_load((ROOT / "collections/mxhero/unroute/roles/unroute/defaults/main.yml").read_text())


def _variables(host, hosts, **given):
    variables = dict((k, trust_as_template(v) if isinstance(v, str) else v) for k, v in DEFAULTS.items())
    variables.update(inventory_hostname=host, groups={"all": list(hosts)}, omit="__omit_place_holder__x")
    variables.update(given)
    return variables


def test_the_default_customer_zones_are_the_inventory_taken_once_not_templated_per_domain():
    hosts = ["d%04d.test" % i for i in range(2000)]
    zones = _domain_run.inventory_zones({"groups": {"all": hosts}})
    templar = Templar(loader=DataLoader())
    one = _domain_run.domain_vars(templar, _variables("d0001.test", hosts), zones)
    two = _domain_run.domain_vars(templar, _variables("d0002.test", hosts), zones)
    assert one.get("dns_customer_zones") is zones and two.get("dns_customer_zones") is zones
    assert list(zones) == hosts
    steps = {s.name: s.params for s in _domain_run._domain.domain_steps(one)}
    assert steps["dns_spf"]["customer_zones"] is zones
    # Given by the user, the list is templated as before (and checked by the module's argument spec).
    own = _domain_run.domain_vars(templar, _variables("d0001.test", hosts, unroute_dns_customer_zones=[
        trust_as_template("{{ inventory_hostname }}"), "other.test"]))
    assert own.get("dns_customer_zones") == ["d0001.test", "other.test"]


def test_a_plain_alias_resolves_like_the_template_and_an_untrusted_one_is_left_to_ansible():
    templar = Templar(loader=DataLoader())
    dv = _domain_run.domain_vars(templar, _variables("MiXed.test", []))
    assert dv.domain == "MiXed.test" and dv.get("dns_zone") == "MiXed.test"
    assert type(dv.get("dns_zone")) is str
    dv = _domain_run.domain_vars(templar, _variables("a.test", [], unroute_dns_zone="{{ inventory_hostname }}"))
    # Not trusted as a template (a fact from a remote host, say): Ansible leaves it as text, and so do we.
    assert dv.get("dns_zone") == "{{ inventory_hostname }}"
    dv = _domain_run.domain_vars(templar, _variables("a.test", [], unroute_dns_zone=trust_as_template(
        "{{ inventory_hostname | upper }}")))
    assert dv.get("dns_zone") == "A.TEST"


def test_run_module_passes_the_inventory_zones_by_the_argument_spec_unchanged():
    zones = _domain_run.inventory_zones({"groups": {"all": ["a.test", "b.test"]}})
    seen = {}

    class Module(object):
        ARGSPEC = _domain_run._module("dns_spf").ARGSPEC

        @staticmethod
        def execute(params, ctx):
            seen.update(params)
            return {"changed": False, "findings": []}
    _domain_run._MODULES["fake_spf"] = Module
    try:
        _domain_run.run_module("fake_spf", {"zone": "a.test", "customer_zones": zones}, True, False)
    finally:
        del _domain_run._MODULES["fake_spf"]
    assert seen["customer_zones"] is zones


def test_a_zone_set_names_the_most_specific_customer_zone():
    zones = ZoneSet(["example.test", "sub.example.test.", "Other.TEST"])
    assert zones.holding("a.sub.example.test") == "sub.example.test."
    assert zones.holding("x.example.test.") == "example.test."
    assert zones.holding("other.test") == "other.test."
    assert zones.holding("example.net") is None
    assert Chains(None, None, ["b.test"], None).customer_zones.holding("x.b.test") == "b.test."


def test_a_template_that_names_no_variable_is_worked_out_once_per_run(monkeypatch):
    templar = Templar(loader=DataLoader())
    calls = []
    real = Templar.template

    def counting(self, value, *args, **kwargs):
        calls.append(str(value))
        return real(self, value, *args, **kwargs)
    monkeypatch.setattr(Templar, "template", counting)
    memo = {}
    # As a lookup('file', ...) of the secret would be: no variable named, the same for every host.
    lookup = trust_as_template("{{ ' c2VjcmV0 ' | trim }}")
    per_host = trust_as_template("{{ inventory_hostname ~ '-key' }}")
    values = []
    for host in ("a.test", "b.test", "c.test"):
        dv = _domain_run.domain_vars(templar, _variables(host, [], unroute_dns_key_secret=lookup,
                                                         unroute_dns_key_name=per_host), memo=memo)
        values.append((dv.get("dns_key_secret"), dv.get("dns_key_name")))
    assert values == [("c2VjcmV0", "a.test-key"), ("c2VjcmV0", "b.test-key"), ("c2VjcmV0", "c.test-key")]
    assert sum("c2VjcmV0" in c for c in calls) == 1
    assert sum("inventory_hostname" in c for c in calls) == 3
