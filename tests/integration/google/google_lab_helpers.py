"""Helpers for the Google integration tests: a lab shared by a test module, estates, module
arguments, lab state. (No conftest.py here: a second module named ``conftest`` would shadow
tests/conftest.py for tests that import from it.)"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import yaml

from unroute_lab import cli as lab_cli
from unroute_lab.manifest import Lab


def google_estate(domains):
    """An estate of Google domains: {name: google section}."""
    return {"domains": [{"name": name, "platform": "google",
                         "dns": {"records": ["@ 3600 IN MX 1 smtp.google.com."]},
                         "google": section} for name, section in domains.items()]}


def module_args(lab, domain, **extra):
    """Connection options for ``domain`` from the lab's inventory variables."""
    v = lab.manifest["domains"][domain]["vars"]
    args = dict(domain=domain, credentials_file=v["unroute_google_service_account_file"],
                subject=v["unroute_google_subject"], api_endpoint=v["unroute_google_api_endpoint"],
                admin_settings_endpoint=v["unroute_google_admin_settings_endpoint"],
                ca_file=v["unroute_google_ca_file"],
                mutable_setting_types=v["unroute_google_mutable_setting_types"])
    args.update(extra)
    return args


def customer_state(lab, domain):
    return lab.state()["google"]["customers"][domain]

@pytest.fixture(scope="module")
def module_lab(tmp_path_factory, request):
    """A lab started from the test module's ESTATE (a dict), shared by its tests."""
    directory = tmp_path_factory.mktemp("google-lab")
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump(request.module.ESTATE))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    stop_lab(directory / "run")


def stop_lab(run_dir):
    """``unroute-lab down``, reaping the lab's processes: started from this process they are our
    children, and down() would wait its full 10 s for their zombies (reported to the lead)."""
    pids = list(json.loads((run_dir / "pids.json").read_text()).values())

    def reap():
        deadline = time.monotonic() + 12
        waiting = set(pids)
        while waiting and time.monotonic() < deadline:
            for pid in list(waiting):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    waiting.discard(pid)
            time.sleep(0.05)

    reaper = threading.Thread(target=reap, daemon=True)
    reaper.start()
    lab_cli.down(str(run_dir))
    reaper.join(timeout=1)
