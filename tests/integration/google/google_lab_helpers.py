"""Helpers for the Google integration tests: a lab shared by a test module, estates, module
arguments, lab state. (No conftest.py here: a second module named ``conftest`` would shadow
tests/conftest.py for tests that import from it.)"""

from __future__ import annotations


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
                # ca_file, the name before 0.3.0: the alias keeps working (test_unknown_ca_... pops it).
                ca_file=v["unroute_google_ca_path"],
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
    lab_cli.down(str(directory / "run"))


