"""Shared fixtures: the collection on sys.path, labs started from estate files, modules run in-process."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".collections"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "lab"))
# With gssapi installed, pyspnego's Negotiate tries Kerberos before NTLM: outside the Kerberos lab no test may
# reach for the host's realm (Debian's /etc/krb5.conf names MIT's KDCs), so Kerberos has no realm at all here.
os.environ["KRB5_CONFIG"] = str(ROOT / "tests" / "krb5-offline.conf")

from unroute_lab import cli as lab_cli  # noqa: E402
from unroute_lab.manifest import Lab  # noqa: E402

from helpers import DEFAULT_ESTATE  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def record_key_home(tmp_path_factory):
    """Run records are signed with a key under the user's configuration: the tests' own, never the user's."""
    home = tmp_path_factory.mktemp("xdg-config")
    saved = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(home)
    yield home
    if saved is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = saved


@pytest.fixture(scope="session", autouse=True)
def budgets(tmp_path_factory):
    """API budgets (module_utils/_budget.py): state files of the tests' own, and the lab's emulators told to the
    collection as unlimited (they enforce nothing unless an estate sets ``budgets``); a test of budgets sets its
    own UNROUTE_BUDGETS."""
    saved = dict((k, os.environ.get(k)) for k in ("UNROUTE_BUDGET_DIR", "UNROUTE_BUDGETS"))
    os.environ["UNROUTE_BUDGET_DIR"] = str(tmp_path_factory.mktemp("budgets"))
    os.environ["UNROUTE_BUDGETS"] = json.dumps(dict((kind, {"rate": 100000, "per": 1}) for kind in (
        "cloudflare", "route53", "azure", "google_cloud_dns", "exo", "google")))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def default_lab(tmp_path_factory):
    """The shipped default estate, started once per test session. Tests that write must use ``lab_factory``."""
    directory = tmp_path_factory.mktemp("default-lab")
    lab_cli.up(str(DEFAULT_ESTATE), str(directory), quiet=True)
    yield Lab(directory)
    lab_cli.down(str(directory))


@pytest.fixture
def lab_factory(tmp_path):
    """Start a private lab from an estate (a dict, or a path); stopped after the test."""
    started = []

    def start(estate=None, name="lab"):
        directory = tmp_path / name
        directory.mkdir()
        if estate is None:
            path = DEFAULT_ESTATE
        elif isinstance(estate, dict):
            path = directory / "estate.yml"
            path.write_text(yaml.safe_dump(estate))
        else:
            path = Path(estate)
        lab_cli.up(str(path), str(directory / "run"), quiet=True)
        started.append(directory / "run")
        return Lab(directory / "run")

    yield start
    for directory in started:
        lab_cli.down(str(directory))
