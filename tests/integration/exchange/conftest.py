"""Small estates for the Exchange (WinRM) lab tests."""

from __future__ import annotations

import pytest

from exchange_fixtures import MXHERO_AGENT, org


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory):
    """One lab for read-only and fault tests of a test module (faults are cleared after each test)."""
    from unroute_lab import cli as lab_cli
    from unroute_lab.manifest import Lab
    import yaml
    directory = tmp_path_factory.mktemp("exchange-lab")
    estate = {"domains": [org(), org("ex-legacy.test", servers=[{"name": "EXOLD", "version": "2010",
                                                                 "agents": {"Hub": [MXHERO_AGENT]}}])]}
    (directory / "estate.yml").write_text(yaml.safe_dump(estate))
    lab_cli.up(str(directory / "estate.yml"), str(directory / "run"), quiet=True)
    lab = Lab(directory / "run")
    yield lab
    lab_cli.down(str(directory / "run"))


@pytest.fixture
def lab(shared_lab):
    yield shared_lab
    shared_lab.clear_faults("winrm")


@pytest.fixture
def exchange_lab(lab_factory):
    """A private lab from an estate dict (tests/conftest.py's lab_factory)."""
    return lab_factory
