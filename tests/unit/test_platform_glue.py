"""Issue 22 (2): one platform contract (docs/conventions.md, "Platform contract").

Each platform package has ``module.py`` with ``ARGSPEC`` (the options its modules share, declared once) and
``run(operation, params, ctx)``; a module declares its ``OPERATION`` and its ``execute(params, ctx)`` only
hands it over. Warnings reach the runner only through ``ctx.warn``, run-time secrets only through
``ctx.secret``. The DNS platform follows the same contract (its providers are tested with the provider contract);
``dns_restore`` builds its operation per call, around the record entries it checked before any engine exists."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner

PLATFORMS = {"exo": "exo_", "google": "google_", "exchange": "exchange_", "mta": "mta_", "dns": "dns_"}
MODULES = {
    "exo": ["exo_connector", "exo_info", "exo_restore", "exo_transport_rule"],
    "google": ["google_app_grants", "google_gateway", "google_info", "google_restore", "google_send_as"],
    "exchange": ["exchange_info", "exchange_send_connector", "exchange_transport_agent"],
    "mta": ["mta_info", "mta_relay"],
    "dns": ["dns_info", "dns_mx", "dns_spf"],
}


def _platform(name):
    return importlib.import_module("ansible_collections.mxhero.unroute.plugins.module_utils._%s.module" % name)


def _module(name):
    return importlib.import_module("ansible_collections.mxhero.unroute.plugins.modules.%s" % name)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_each_platform_has_one_module_py_with_argspec_and_run(platform):
    glue = _platform(platform)
    assert isinstance(glue.ARGSPEC, _runner.ArgSpec)
    assert list(inspect.signature(glue.run).parameters) == ["operation", "params", "ctx"]
    assert not [n for n in vars(glue) if n.startswith("execute")], "the operation is data, not a signature"


@pytest.mark.parametrize("platform, name", [(p, m) for p, names in sorted(MODULES.items()) for m in names])
def test_each_module_hands_its_declared_operation_to_its_platform(platform, name, monkeypatch):
    module, glue = _module(name), _platform(platform)
    assert isinstance(module.OPERATION, _runner.Operation)
    seen = []
    monkeypatch.setattr(glue, "run", lambda operation, params, ctx: seen.append((operation, params, ctx)) or {})
    ctx = _runner.RunContext()
    module.execute({"domain": "acme.test"}, ctx)
    assert seen == [(module.OPERATION, {"domain": "acme.test"}, ctx)]
    # Every option the platform shares comes from its one declaration, unchanged.
    for option, spec in glue.ARGSPEC.options.items():
        assert module.ARGSPEC.options[option] == spec, (name, option)


def test_the_mta_modules_declare_their_shared_options_once():
    mta = _platform("mta")
    assert {"mta", "config_dir", "mxhero_ips"} <= set(mta.OPTIONS)
    for name in MODULES["mta"]:
        source = inspect.getsource(_module(name))
        assert "mta=dict(" not in source and "config_dir=dict(" not in source, name
        assert "fingerprint_argument_spec" not in source, name


class _Directory(object):
    """A customer whose only user has no mailbox to read: google_send_as cautions about it."""

    def __init__(self):
        self.secrets = ["ya29.learnt-at-run-time"]

    def list_users(self, customer, limit=None):
        return [{"primaryEmail": "pat@acme.test", "suspended": True}]

    def secret_values(self):
        return list(self.secrets)


def test_google_warnings_and_client_secrets_go_through_ctx(monkeypatch):
    glue = _platform("google")
    monkeypatch.setattr(glue.engine, "make_client", lambda params, scopes: _Directory())
    monkeypatch.setattr(glue.client_mod, "IMPORT_ERROR", None)
    ctx = _runner.RunContext()
    result = _module("google_send_as").execute({"domain": "acme.test", "max_users": 10}, ctx)
    assert any("without a mailbox" in w and "pat@acme.test" in w for w in ctx.cautions), ctx.cautions
    assert not result.get("warnings")
    assert "ya29.learnt-at-run-time" in ctx.secrets


def test_google_declares_the_keys_it_reads_from_a_credentials_file():
    pytest.importorskip("google.oauth2.credentials")
    glue = _platform("google")
    data = json.dumps({"type": "authorized_user", "client_id": "c.apps.googleusercontent.com",
                       "client_secret": "GOCSPX-never-in-output", "refresh_token": "1//refresh-never-in-output"})
    params = dict((k, v.get("default")) for k, v in glue.ARGSPEC.options.items())
    params.update(domain="acme.test", credentials_data=data)
    ctx = _runner.RunContext()
    glue.run(_runner.Operation(lambda google, params, ctx: google.client(["scope"]) and {}), params, ctx)
    assert {"GOCSPX-never-in-output", "1//refresh-never-in-output"} <= ctx.secrets
