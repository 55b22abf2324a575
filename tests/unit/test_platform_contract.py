"""Issue 22 (4): one name and one type per shared option, and the argument validator heard on both paths.

``ca_path`` on every platform (Google's ``ca_file`` kept as its alias); an option name shared by modules has
one type everywhere; the validator's warnings and deprecations reach a play through the in-process action
path exactly as a classic module shows them."""

from __future__ import annotations

import collections
import importlib
import pkgutil
import types

from helpers import run_classic_module, run_module

import ansible_collections.mxhero.unroute.plugins.modules as modules_pkg
from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.plugin_utils._inprocess import InProcessAction

# Names two modules use for different things, so their types differ on purpose: a DNS record name vs the run
# record (run_report), MX replacement records (dns_mx) vs a relay host (mta_relay).
DIFFERENT_THINGS = {"record", "replacement"}


def _specs():
    for info in pkgutil.iter_modules(modules_pkg.__path__):
        module = importlib.import_module("%s.%s" % (modules_pkg.__name__, info.name))
        yield info.name, module.ARGSPEC.options


def _walk(options, prefix=""):
    for name, spec in options.items():
        yield prefix + name, spec
        if spec.get("options"):
            yield from _walk(spec["options"], prefix + name + ".")


def test_a_shared_option_has_one_type_everywhere():
    types_of = collections.defaultdict(dict)
    for module, options in _specs():
        for name, spec in _walk(options):
            types_of[name][module] = (spec.get("type", "str"), spec.get("elements"))
    mixed = dict((name, by_module) for name, by_module in types_of.items()
                 if len(set(by_module.values())) > 1 and name not in DIFFERENT_THINGS)
    assert mixed == {}
    assert set(t for t, _e in types_of["timeout"].values()) == {"float"}


def test_the_ca_bundle_is_ca_path_on_every_platform_and_ca_file_still_works():
    takes_a_ca = {}
    for module, options in _specs():
        assert "ca_file" not in options, module
        if "ca_path" in options:
            takes_a_ca[module] = options["ca_path"]
    platforms = set(m.split("_", 1)[0] for m in takes_a_ca)
    assert {"dns", "google", "exo", "exchange"} <= platforms
    assert all(takes_a_ca[m].get("aliases") == ["ca_file"] for m in takes_a_ca if m.startswith("google_"))
    validated = _specs_by_name()["google_info"].validate(
        {"domain": "acme.test", "access_token": "t", "ca_file": "/etc/ssl/lab-ca.pem"})
    assert not validated.error_messages and validated.validated_parameters["ca_path"] == "/etc/ssl/lab-ca.pem"


def _specs_by_name():
    return dict((info.name, importlib.import_module("%s.%s" % (modules_pkg.__name__, info.name)).ARGSPEC)
                for info in pkgutil.iter_modules(modules_pkg.__path__))


# -- the validator's warnings and deprecations, in-process and classic ----------------------------------------

def _made_up_module():
    argspec = _runner.ArgSpec(dict(
        domain=dict(type="str", required=True),
        ca_path=dict(type="path", aliases=["ca_file"]),
        endpoint=dict(type="str", aliases=["url"], deprecated_aliases=[dict(name="url", version="9.0.0",
                                                           collection_name="mxhero.unroute")]),
        legacy=dict(type="bool", removed_in_version="9.0.0", removed_from_collection="mxhero.unroute"),
    ))

    def execute(params, ctx):
        ctx.warn("%s: the engine's own caution" % params["domain"])
        return {"changed": False}

    module = types.SimpleNamespace(ARGSPEC=argspec, execute=execute)
    module.main = lambda: _runner.main(argspec, execute, name="mxhero.unroute.made_up")
    action = type("MadeUpAction", (InProcessAction,), {"MODULE": module})
    return module, action


def _deprecation_texts(result):
    out = []
    for item in result.get("deprecations") or []:
        msg = item["event"]["msg"] if "event" in item else item["msg"]
        out.append((msg, item.get("version")))
    return sorted(out)


def test_validator_warnings_and_deprecations_reach_the_play_in_process_as_classic():
    module, action = _made_up_module()
    args = {"domain": "acme.test", "ca_path": "/a.pem", "ca_file": "/b.pem", "url": "https://x.test",
            "legacy": True}
    in_process = run_module("made_up", args, action_class=action)
    classic = run_classic_module("made_up", args, module=module)
    assert not in_process.get("failed") and not classic.get("failed")
    assert in_process["warnings"] == classic["warnings"]
    assert in_process["warnings"][0] == "Both option ca_path and its alias ca_file are set."
    assert in_process["warnings"][-1] == "acme.test: the engine's own caution"
    assert _deprecation_texts(in_process) == _deprecation_texts(classic)
    words = " ".join(m for m, _v in _deprecation_texts(in_process))
    assert "Alias 'url' is deprecated" in words and "legacy" in words


def test_validator_warnings_are_kept_when_validation_fails():
    module, action = _made_up_module()
    args = {"ca_path": "/a.pem", "ca_file": "/b.pem"}
    in_process = run_module("made_up", args, action_class=action)
    classic = run_classic_module("made_up", args, module=module)
    assert in_process["failed"] and classic["failed"]
    assert in_process["warnings"] == classic["warnings"] == ["Both option ca_path and its alias ca_file are set."]


def test_the_role_passes_ca_path_and_still_reads_the_old_variable():
    import yaml
    from ansible.template import Templar, trust_as_template

    from helpers import ROOT

    role_vars = yaml.safe_load((ROOT / "collections/mxhero/unroute/roles/unroute/vars/main.yml").read_text())
    google = role_vars["unroute_module_defaults_google"]
    assert "ca_file" not in google

    def rendered(**variables):
        return Templar(loader=None, variables=variables).template(trust_as_template(google["ca_path"]))

    assert rendered(unroute_google_ca_path="/new.pem", unroute_google_ca_file="/old.pem") == "/new.pem"
    assert rendered(unroute_google_ca_file="/old.pem") == "/old.pem"
    assert rendered(omit="__omit__") == "__omit__"
