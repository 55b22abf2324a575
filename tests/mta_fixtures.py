"""Mail-server configurations for the mta_relay tests, and running the module through ansible-playbook.

Postfix is the real Debian package: each test gets its own instance directory (``postconf -c``) whose queue
lives under the test's tmp dir, so nothing touches the host's own Postfix. Exim and Sendmail files follow the
formats their Debian packages document (update-exim4.conf.conf, sendmail.mc, mailertable); their build tools
are stand-ins on PATH that record how they were called (see docs/mail-servers.md). Instances and the private sshd
are the lab's own code (lab/unroute_lab/postfix.py, sshd.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from pathlib import Path

import pytest
import yaml

from unroute_lab import postfix as lab_postfix
from unroute_lab.sshd import SSHServer  # noqa: F401 (the lab's sshd, used by the SSH test)

ROOT = Path(__file__).resolve().parent.parent

needs_postfix = pytest.mark.skipif(
    not shutil.which("postconf", path=os.environ.get("PATH", "") + ":/usr/sbin") or os.geteuid() != 0,
    reason="needs the Debian postfix package (scripts/setup.sh installs it) and root for postfix check")

# The lab builds the same instances (lab/unroute_lab/postfix.py): one implementation of an instance directory.
postconf = lab_postfix.postconf
postfix_instance = lab_postfix.build


def snapshot(directory):
    """Every file's bytes in the instance directory (backups included), to prove what a run left alone."""
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir()) if p.is_file()}


def play(tmp_path, args, check=False, diff=False, env=None, name="run", connection=None):
    """Run mxhero.unroute.mta_relay (or ``args["module"]``) with ``args`` through ansible-playbook (connection
    local, the venv's Python as interpreter, the classic module path); return the registered result."""
    args = dict(args)
    module = "mxhero.unroute.%s" % args.pop("module", "mta_relay")
    out = tmp_path / ("%s.json" % name)
    playbook = tmp_path / ("%s.yml" % name)
    playbook.write_text(yaml.safe_dump([{
        "hosts": "mailservers", "gather_facts": False,
        "tasks": [
            {"name": "module", module: args, "register": "r", "ignore_errors": True,
             "environment": env or {}},
            {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out)},
             "check_mode": False, "diff": False, "delegate_to": "localhost"},
        ]}]))
    inventory = tmp_path / "inventory.yml"
    host = connection or {"ansible_connection": "local"}
    host = dict(host, ansible_python_interpreter=sys.executable)
    inventory.write_text(yaml.safe_dump({"mailservers": {"hosts": {"mail1": host}}}))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
                       ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          env=environment, cwd=str(tmp_path), timeout=300)
    assert out.exists(), proc.stdout
    result = json.loads(out.read_text())
    result["_stdout"] = proc.stdout
    return result


def actions(result):
    return sorted((f["kind"], f["object"].split(": ", 1)[1], f["action"]) for f in result["findings"])
