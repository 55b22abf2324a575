"""AWX / Automation Controller readiness: the execution environment's build context, the credential
types rendered the way AWX renders injectors, and audit.yml run through ansible-runner (the engine
AWX uses) with the run record in the job's artifacts, and the report rebuilt from them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from helpers import ROOT

BIN = Path(sys.executable).parent
CREDENTIAL_TYPES = sorted((ROOT / "awx" / "credential_types").glob("*.yml"))
ROLE_SPEC = ROOT / "collections/mxhero/unroute/roles/unroute/meta/argument_specs.yml"


def _env(**extra):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
    env.update(extra)
    return env


# -- the execution environment ----------------------------------------------------------------------

def test_ee_build_context_holds_the_collection_and_its_needs(tmp_path):
    done = subprocess.run(["bash", str(ROOT / "scripts" / "ee_context.sh")], cwd=str(ROOT), env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    context = ROOT / "build" / "ee" / "context"
    containerfile = (context / "Containerfile").read_text()
    assert containerfile.startswith('ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"')
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect" in containerfile  # the collection's requirements are read in the build
    assert 'ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4"' in containerfile
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert galaxy["collections"] == [{"name": "/build/collections/mxhero-unroute.tar.gz", "type": "file"}]
    tarball = context / "_build" / "collections" / "mxhero-unroute.tar.gz"
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt", "MANIFEST.json",
                "plugins/modules/dns_mx.py", "plugins/action/dns_mx.py", "roles/unroute/tasks/main.yml"} <= names
        tar.extractall(tmp_path / "ansible_collections" / "mxhero" / "unroute", filter="data")
    # What builder's introspection will pip install inside the image, read from the collection as built.
    intro = subprocess.run([str(BIN / "ansible-builder"), "introspect", "--sanitize", str(tmp_path)],
                           capture_output=True, text=True, timeout=120)
    assert intro.returncode == 0, intro.stderr
    for requirement in ("dnspython", "msal", "pywinrm", "pypsrp", "google-api-python-client", "requests"):
        assert requirement in intro.stdout, intro.stdout


# -- credential types --------------------------------------------------------------------------------

def _render(ctype, inputs, tmp_path):
    """Inject like AWX: inputs with defaults in a sandboxed Jinja namespace, file templates written first
    and named through ``tower.filename`` (one template) or ``tower.filename.<name>``."""
    sandbox = ImmutableSandboxedEnvironment()
    namespace = {}
    for field in ctype["inputs"]["fields"]:
        namespace[field["id"]] = inputs.get(field["id"], field.get("default", ""))
    files = {}
    for key, template in (ctype["injectors"].get("file") or {}).items():
        path = tmp_path / key.replace(".", "_")
        path.write_text(sandbox.from_string(template).render(**namespace))
        files[key] = str(path)
    if list(files) == ["template"]:
        namespace["tower"] = {"filename": files["template"]}
    else:
        namespace["tower"] = {"filename": {k.split(".", 1)[1]: v for k, v in files.items()}}
    env = {k: sandbox.from_string(v).render(**namespace) for k, v in (ctype["injectors"].get("env") or {}).items()}
    extra_vars = {k: sandbox.from_string(v).render(**namespace)
                  for k, v in (ctype["injectors"].get("extra_vars") or {}).items()}
    return env, extra_vars, files


SAMPLES = {
    "tsig_key.yml": {"key_name": "unroute", "key_secret": "c2VjcmV0LXNlY3JldA=="},
    "exchange_online_app.yml": {"tenant_id": "contoso.onmicrosoft.com", "client_id": "app-1",
                                "certificate": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"},
    "google_service_account.yml": {"service_account_json": '{"type": "service_account"}', "subject": "a@b.example"},
    "exchange_winrm_account.yml": {"username": "CONTOSO\\exadmin", "password": "pw-123456"},
    "dns_route53.yml": {"access_key": "AKIAEXAMPLE", "secret_key": "aws-secret-123"},
    "dns_cloudflare.yml": {"api_token": "cf-token-123"},
    "dns_powerdns.yml": {"api_url": "http://ns1.example.net:8081", "api_key": "pdns-key-123"},
    "dns_azure.yml": {"subscription_id": "sub-1", "tenant_id": "tenant-1", "client_id": "app-1",
                      "client_secret": "az-secret-123"},
    "dns_google_cloud.yml": {"project": "dns-proj", "service_account_json": '{"type": "service_account"}'},
    "dns_lexicon.yml": {"lexicon_provider": "godaddy", "lexicon_options": '{"auth_key": "k", "auth_secret": "s"}'},
    "record_key.yml": {"record_key": "0123456789abcdef0123456789abcdef-record-key"},
    "exchange_online_partner_app.yml": {"client_id": "app-1", "partner_tenant_id": "partner-1",
                                        "certificate": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"},
    "google_shared_service_account.yml": {"service_account_json": '{"type": "service_account"}',
                                          "subject_pattern": "it-admin@{domain}"},
}
# Read by the playbooks rather than the role (the record key signs and checks run records).
PLAYBOOK_VARS = {"unroute_record_key", "unroute_exo_partner_tenant_id"}


def test_every_credential_type_has_a_sample():
    assert sorted(p.name for p in CREDENTIAL_TYPES) == sorted(SAMPLES)


@pytest.mark.parametrize("path", CREDENTIAL_TYPES, ids=lambda p: p.stem)
def test_credential_type_injects_exactly_role_variables(path, tmp_path):
    ctype = yaml.safe_load(path.read_text())
    assert ctype["kind"] == "cloud" and ctype["name"].startswith("mxHero unroute - ")
    ids = [f["id"] for f in ctype["inputs"]["fields"]]
    assert set(ctype["inputs"]["required"]) <= set(ids)
    for field in ctype["inputs"]["fields"]:
        if any(word in field["id"] for word in ("secret", "password", "json", "certificate", "key", "token",
                                                "options")) and field["id"] not in ("ca_certificate", "access_key", "key_name", "key_algorithm"):
            assert field.get("secret") is True, field["id"]
    role_vars = set(yaml.safe_load(ROLE_SPEC.read_text())["argument_specs"]["main"]["options"])
    playbooks = "".join(p.read_text() for p in (ROOT / "playbooks").glob("*.yml"))
    role_vars |= set(v for v in PLAYBOOK_VARS if v in playbooks)
    env, extra_vars, files = _render(ctype, SAMPLES[path.name], tmp_path)
    assert set(extra_vars) <= role_vars, set(extra_vars) - role_vars
    assert not [k for k in env if k.startswith("ANSIBLE_")]
    # Every sample input reaches the role, inline or through a file the role is pointed at.
    for key, value in SAMPLES[path.name].items():
        in_files = [p for p in files.values() if Path(p).read_text() == value]
        assert value in extra_vars.values() or (in_files and set(in_files) & set(extra_vars.values())), key


def test_exchange_online_app_with_a_secret_leaves_the_certificate_path_empty(tmp_path):
    ctype = yaml.safe_load((ROOT / "awx/credential_types/exchange_online_app.yml").read_text())
    _env_, extra_vars, _files = _render(ctype, {"tenant_id": "t", "client_id": "c", "client_secret": "s3cret"},
                                        tmp_path)
    assert extra_vars["unroute_exo_certificate_path"] == ""
    assert extra_vars["unroute_exo_client_secret"] == "s3cret"


def test_tsig_credential_drives_a_real_audit_of_the_lab(default_lab, tmp_path):
    """Render the TSIG credential with the lab's key and let its extra vars alone carry the secret."""
    ctype = yaml.safe_load((ROOT / "awx/credential_types/tsig_key.yml").read_text())
    dns = default_lab.dns
    _e, extra_vars, _f = _render(ctype, {"key_name": dns["key_name"], "key_secret": default_lab.tsig_secret,
                                         "server": dns["server"]}, tmp_path)
    inventory = {"all": {"hosts": {"mx-partial.test": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "unroute_dns_port": dns["port"]}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "extra.json").write_text(json.dumps(dict(extra_vars, unroute_fail_on_error=False)))
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
                           str(ROOT / "playbooks" / "audit.yml"), "-e", "@%s" % (tmp_path / "extra.json")],
                          cwd=str(ROOT), env=_env(UNROUTE_REPORT_DIR=str(tmp_path / "reports")),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    record = json.loads(next((tmp_path / "reports").glob("audit-*.json")).read_text())
    (domain,) = record["domains"]
    assert domain["status"] == "would_change" and domain["errors"] == []


# -- ansible-runner ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runner_job(default_lab, tmp_path_factory):
    pdd = tmp_path_factory.mktemp("runner")
    (pdd / "project").symlink_to(ROOT)  # an AWX project is the repository
    (pdd / "inventory").mkdir()
    shutil.copy(default_lab.dir / "inventory.yml", pdd / "inventory" / "hosts.yml")
    (pdd / "env").mkdir()
    reports = pdd / "reports"
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({"UNROUTE_REPORT_DIR": str(reports)}))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({"unroute_fail_on_error": False}))
    done = subprocess.run([str(BIN / "ansible-runner"), "run", str(pdd), "-p", "playbooks/audit.yml",
                           "--ident", "audit1"], env=_env(), capture_output=True, text=True, timeout=900)
    return pdd, done, reports


def _stats_event(pdd):
    for path in sorted((pdd / "artifacts" / "audit1" / "job_events").glob("*.json")):
        event = json.loads(path.read_text())
        if event.get("event") == "playbook_on_stats":
            return event
    raise AssertionError("no playbook_on_stats event")


def test_audit_through_ansible_runner_keeps_the_record_in_the_artifacts(runner_job, default_lab):
    pdd, done, reports = runner_job
    artifacts = pdd / "artifacts" / "audit1"
    assert done.returncode == 0, done.stdout[-3000:]
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"
    run = _stats_event(pdd)["event_data"]["artifact_data"]["unroute_run"]
    assert run["format"] == "mxhero-unroute-run/1" and run["run"]["mode"] == "audit"
    assert run["summary"]["domains"] == len(default_lab.manifest["domains"])
    assert sorted(d["domain"] for d in run["domains"]) == sorted(default_lab.manifest["domains"])
    on_disk = json.loads(next(reports.glob("audit-*.json")).read_text())
    assert on_disk["summary"] == run["summary"] and on_disk["domains"] == run["domains"]
    assert default_lab.tsig_secret not in json.dumps(run)


def test_report_is_rebuilt_from_the_job_artifacts(runner_job, tmp_path):
    pdd, _done, _reports = runner_job
    artifacts = {"unroute_run": _stats_event(pdd)["event_data"]["artifact_data"]["unroute_run"]}
    (tmp_path / "artifacts.json").write_text(json.dumps(artifacts))
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(ROOT / "playbooks" / "report.yml"),
                           "-e", "unroute_artifacts=%s" % (tmp_path / "artifacts.json"),
                           "-e", "ansible_python_interpreter=%s" % sys.executable, "-c", "local"],
                          cwd=str(ROOT), env=_env(UNROUTE_REPORT_DIR=str(tmp_path / "rebuilt")),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    rebuilt = json.loads(next((tmp_path / "rebuilt").glob("audit-*.json")).read_text())
    assert rebuilt == artifacts["unroute_run"]
    html = next((tmp_path / "rebuilt").glob("audit-*.html")).read_text()
    assert all(d["domain"] in html for d in rebuilt["domains"])


def test_tampered_artifacts_change_nothing_and_say_why(runner_job, tmp_path):
    """Artifacts travel through AWX's API and people's downloads: one edited on the way is refused by name."""
    pdd, _done, _reports = runner_job
    run = json.loads(json.dumps(_stats_event(pdd)["event_data"]["artifact_data"]["unroute_run"]))
    assert run["mac"]["alg"] == "hmac-sha256"
    domain = next(d for d in run["domains"] if d["findings"])
    domain["findings"].pop()
    (tmp_path / "artifacts.json").write_text(json.dumps({"unroute_run": run}))
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(ROOT / "playbooks" / "report.yml"),
                           "-e", "unroute_artifacts=%s" % (tmp_path / "artifacts.json"),
                           "-e", "ansible_python_interpreter=%s" % sys.executable, "-c", "local"],
                          cwd=str(ROOT), env=_env(UNROUTE_REPORT_DIR=str(tmp_path / "rebuilt")),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "%s: the run record's MAC does not verify" % (tmp_path / "artifacts.json") in done.stdout
    assert not (tmp_path / "rebuilt").exists() or not list((tmp_path / "rebuilt").iterdir())
