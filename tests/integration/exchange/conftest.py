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
    _down(directory / "run")


@pytest.fixture
def lab(shared_lab):
    yield shared_lab
    shared_lab.clear_faults("winrm")


def _down(directory):
    """Stop a lab started from this process, reaping its children.

    ``unroute-lab down`` polls with kill(pid, 0), which a zombie child (named
    and the supervisor, when pytest started the lab in-process) passes until
    its 10 s deadline; reaping them first keeps teardown short.
    """
    import json
    import os
    import signal
    import time
    from unroute_lab import cli as lab_cli
    pids_file = directory / "pids.json"
    pids = json.loads(pids_file.read_text()) if pids_file.exists() else {}
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
    deadline = time.monotonic() + 10
    for pid in pids.values():
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.05)
    lab_cli.down(str(directory))


@pytest.fixture
def exchange_lab(tmp_path):
    """Like ``lab_factory`` (a private lab from an estate dict) with a quick teardown."""
    import yaml
    from unroute_lab import cli as lab_cli
    from unroute_lab.manifest import Lab
    started = []

    def start(estate, name="lab"):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "estate.yml").write_text(yaml.safe_dump(estate))
        lab_cli.up(str(directory / "estate.yml"), str(directory / "run"), quiet=True)
        started.append(directory / "run")
        return Lab(directory / "run")

    yield start
    for directory in started:
        _down(directory)
