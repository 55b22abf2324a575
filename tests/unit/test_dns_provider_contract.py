"""Issue 22 (3): the DNS provider contract. Every provider class declares its name, guarantee, options and how
it is built from the parameters; one attempt/classify seam; typed errors whose fix the module layer words; the
engine warns through a callback; run-time secrets reach ``ctx.secret``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint, fingerprint_argument_spec
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryPolicy, TransientError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import provider as base
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DnsEngine
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.rfc2136 import Rfc2136Provider

# The options every DNS module has whatever the provider (the rest belong to exactly one provider).
COMMON = {"zone", "record", "timeout", "provider", "ca_path"}


def _params(**extra):
    args = dict(zone="acme.test", server="127.0.0.1", port=5353, timeout=1.0)
    args.update(extra)
    return dns_module.ARGSPEC.validate(args).validated_parameters


class Zone(base.DnsProvider):
    """A provider over a dict, for what the engine does with a provider's answers."""

    name = "table"

    def __init__(self, records, retry=None):
        self.zone_text, self.zone_fqdn, self.records, self.retry = "acme.test", "acme.test.", records, retry

    def find_zone(self):
        return None

    def read(self, name, rdtype):
        return base.RRset(name, rdtype, 3600, self.records.get((name, rdtype), []))


def test_every_provider_declares_its_name_guarantee_options_and_builder():
    for name, cls in dns_module.REGISTRY.items():
        assert cls.name == name
        assert callable(cls.from_params) and callable(cls.available)
        assert set(cls.required) <= set(cls.options), name
        if issubclass(cls, base.DnsProvider):
            assert cls.guarantee in (base.ATOMIC_CAS, base.READ_VERIFY), name
    assert Rfc2136Provider.name == "rfc2136" and Rfc2136Provider.guarantee == base.ATOMIC_CAS


def test_the_argument_spec_is_the_common_options_and_each_providers_own():
    spec = dns_module.dns_argument_spec()
    owners = {}
    for name, cls in dns_module.REGISTRY.items():
        for option in cls.options:
            assert option not in owners, "%s declared by %s and %s" % (option, owners.get(option), name)
            owners[option] = name
    assert set(spec) == COMMON | set(owners) | set(fingerprint_argument_spec())
    assert spec["provider"]["choices"] == list(dns_module.REGISTRY)
    assert dns_module.REQUIRED_IF == [("provider", n, list(c.required)) for n, c in dns_module.REGISTRY.items()
                                      if c.required]


def test_only_the_chosen_providers_libraries_are_imported():
    code = ("import sys\n"
            "from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as m\n"
            "heavy = ('azure', 'google', 'googleapiclient', 'lexicon')\n"
            "print(sorted(set(k.split('.')[0] for k in sys.modules if k.split('.')[0] in heavy)))\n"
            "m.REGISTRY['azure'].available()\n"
            "print(sorted(set(k.split('.')[0] for k in sys.modules if k.split('.')[0] in heavy)))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "['azure']"


def test_check_zone_checks_the_providers_own_zone_and_refuses_another():
    provider = Zone({})
    assert provider.check_zone() is None and provider.check_zone("ACME.test.") is None
    with pytest.raises(ValueError) as caught:
        provider.check_zone("other.test")
    assert "serves zone acme.test." in str(caught.value)


def test_the_seam_retries_what_classify_calls_transient_and_no_more():
    calls = []

    class Flaky(Zone):
        def classify(self, err, what, write):
            if isinstance(err, KeyError):
                return TransientError("busy")
            if isinstance(err, LookupError):
                return base.CredentialsRefused(self.zone_text, what, "refused")
            return None

    def busy():
        calls.append(1)
        raise KeyError("x")

    provider = Flaky({}, retry=RetryPolicy(attempts=3, sleep=lambda s: None, rand=lambda: 0.0))
    with pytest.raises(base.Unreachable) as caught:
        provider.attempt(busy, "zone acme.test")
    assert len(calls) == 3 and "gave up after 3 attempts" in str(caught.value)
    # The fix is the module layer's, for the chosen provider's options.
    assert "aws_endpoint_url" in dns_module.explain(caught.value, _params(provider="route53")).fix
    del calls[:]

    def refused():
        calls.append(1)
        raise IndexError("no")

    with pytest.raises(base.CredentialsRefused):
        provider.attempt(refused, "zone acme.test")
    assert len(calls) == 1
    with pytest.raises(ZeroDivisionError):
        provider.attempt(lambda: 1 / 0, "zone acme.test")
    # What the engine decides on (a moved RRset) is never reclassified.
    with pytest.raises(base.PrerequisiteFailed):
        provider.attempt(lambda: (_ for _ in ()).throw(base.PrerequisiteFailed("moved")), "x", write=True)


def test_the_module_layer_words_the_fix_for_the_chosen_provider():
    err = base.CredentialsRefused("acme.test", "zone acme.test", "Route 53 refused the credentials (x)")
    worded = dns_module.explain(err, _params(provider="route53"))
    assert str(worded).startswith("acme.test: zone acme.test: Route 53 refused the credentials (x); check "
                                  "aws_access_key")
    lexicon = dns_module.explain(base.ProviderError("acme.test", "a MX", "failed"),
                                 _params(provider="lexicon", lexicon_provider="Hetzner"))
    assert "'lexicon hetzner --help'" in str(lexicon)
    # The project may come from the key file, not the options: the provider says which it used.
    denied = base.AccessDenied("acme.test", "zone acme.test", "Cloud DNS refused access", about={"project": "p-1"})
    assert str(dns_module.explain(denied, _params(provider="google_cloud_dns"))).endswith(
        "(roles/dns.admin) on project p-1")
    # A provider's own fix for a situation only it knows is kept.
    own = base.ZoneNotFound("acme.test", "zone acme.test", "two zones", "give hosted_zone_id")
    assert dns_module.explain(own, _params(provider="route53")) is own


def test_engine_warnings_go_through_the_callback():
    spf = '"v=spf1 -all"'
    ctx = _runner.RunContext()
    seen = []
    ctx.warn = seen.append
    engine = DnsEngine(Zone({("acme.test.", "TXT"): [spf, '"v=spf1 ~all"']}), "acme.test", Fingerprint(),
                       warn=lambda text: ctx.warn("acme.test: " + text))
    engine.info(checks=("spf",))
    assert seen == ["acme.test: acme.test. has 2 SPF records (permerror): merge them"]
    assert not hasattr(engine, "warnings")


def test_a_run_time_secret_reaches_ctx_secret_and_is_scrubbed_from_the_providers_errors():
    found = []
    provider = Zone({})
    provider.on_secret = found.append
    provider.secret("s3cr3t-private-key")
    assert found == ["s3cr3t-private-key"]
    assert provider.clean("denied for s3cr3t-private-key\nmore") == "denied for ********"


def test_provider_manual_reads_and_says_the_steps():
    params = _params(provider="manual", server="", dns_host="godaddy")
    engine = dns_module.build_engine(params, read_only=False)
    assert engine.manual is not None and engine.provider.primary is None
    rfc = dns_module.build_engine(_params(), read_only=False)
    assert rfc.manual is None and rfc.provider.primary == "127.0.0.1"


def test_every_provider_has_the_fix_worded_for_the_errors_every_service_can_give():
    for name, cls in dns_module.REGISTRY.items():
        names = (name,) + tuple(getattr(cls, "reads_as", ()))
        for kind in ("credentials", "zone", "unreachable"):
            assert any((n, kind) in dns_module.FIXES for n in names), (name, kind)
    kinds = set(c.kind for c in (base.ProviderError, base.OptionRefused, base.CredentialsRefused, base.AccessDenied,
                                 base.ZoneNotFound, base.Unreachable))
    assert set(key[1] for key in dns_module.FIXES) <= kinds
    assert set(key[0] for key in dns_module.FIXES) <= set(dns_module.REGISTRY)
