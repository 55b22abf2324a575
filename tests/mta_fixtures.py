"""Mail-server configurations for the mta_relay tests, and running the module through ansible-playbook.

Postfix is the real Debian package: each test gets its own instance directory (``postconf -c``) whose queue
lives under the test's tmp dir, so nothing touches the host's own Postfix. Exim and Sendmail files follow the
formats their Debian packages document (update-exim4.conf.conf, sendmail.mc, mailertable); their build tools
are stand-ins on PATH that record how they were called (see docs/mail-servers.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

needs_postfix = pytest.mark.skipif(
    not shutil.which("postconf", path=os.environ.get("PATH", "") + ":/usr/sbin") or os.geteuid() != 0,
    reason="needs the Debian postfix package (scripts/setup.sh installs it) and root for postfix check")

MASTER_DIST = Path("/usr/share/postfix/master.cf.dist")


def postconf(directory, *args):
    return subprocess.run(["/usr/sbin/postconf", "-c", str(directory)] + list(args), check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout


def postfix_instance(base, main=None, master_lines=(), tables=None):
    """A Postfix instance directory under ``base``: main.cf with ``main`` set (through postconf -e), master.cf
    from the package with ``master_lines`` appended, and lookup tables (name -> text, rebuilt with postmap)."""
    directory = base / "postfix"
    directory.mkdir()
    (base / "spool").mkdir()
    (base / "data").mkdir()
    (directory / "main.cf").write_text(textwrap.dedent("""\
        # main.cf of a test instance; everything below the line comes from the test
        compatibility_level = 3.6
        queue_directory = {base}/spool
        data_directory = {base}/data
        inet_interfaces = loopback-only
        inet_protocols = ipv4
        myhostname = mail.lab.test
        mydestination =
        alias_maps =
        alias_database =
        """).format(base=base))
    master = MASTER_DIST.read_text() if MASTER_DIST.exists() else "smtp inet n - y - - smtpd\n"
    (directory / "master.cf").write_text(master + "".join(line + "\n" for line in master_lines))
    for name, text in (tables or {}).items():
        (directory / name).write_text(textwrap.dedent(text))
    for name, value in (main or {}).items():
        postconf(directory, "-e", "%s=%s" % (name, value.replace("DIR", str(directory))))
    for name in tables or {}:
        subprocess.run(["/usr/sbin/postmap", "-c", str(directory), "hash:%s" % (directory / name)], check=True)
    return directory


def snapshot(directory):
    """Every file's bytes in the instance directory (backups included), to prove what a run left alone."""
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir()) if p.is_file()}


def play(tmp_path, args, check=False, diff=False, env=None, name="run"):
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
    inventory.write_text(yaml.safe_dump({"mailservers": {"hosts": {"mail1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
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
