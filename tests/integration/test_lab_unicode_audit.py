"""Issue 24 (5, part): the default lab holds a unicode domain (bücher.test, served by BIND as
xn--bcher-kva.test); playbooks/audit.yml audits it and the report shows both forms."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT

pytestmark = pytest.mark.lab
BIN = os.path.dirname(sys.executable)


def test_audit_shows_the_unicode_domain_in_both_forms(default_lab, tmp_path):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(default_lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / "audit.yml"), "-e", "unroute_fail_on_error=false",
                           "-e", "unroute_target=bücher.test"],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    path = sorted(tmp_path.glob("audit-*.json"))[-1]
    record = json.loads(path.read_text())
    [entry] = record["domains"]
    assert entry["domain"] == "bücher.test" and entry["domain_alabel"] == "xn--bcher-kva.test"
    assert entry["status"] == "would_change"
    kinds = sorted(set(f["kind"] for f in entry["findings"]))
    assert kinds == ["mx_record", "spf_term"]
    assert all("xn--bcher-kva.test." in f["object"] for f in entry["findings"])
    page = path.with_suffix(".html").read_text(encoding="utf-8")
    assert "bücher.test (xn--bcher-kva.test)" in page
    # Findings name the record as DNS carries it, with the unicode form beside it.
    assert "xn--bcher-kva.test. MX 10 smtp-in.mxhero.com. [bücher.test. MX 10 smtp-in.mxhero.com.]" in page
