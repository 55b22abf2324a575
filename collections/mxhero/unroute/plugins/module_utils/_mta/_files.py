# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups, rollback and the diff text of the configuration files an MTA engine edits."""

from __future__ import annotations

import os
import shutil
import tempfile
import time


def read(path):
    with open(path, "r") as handle:
        return handle.read()


def write_atomic(path, text):
    """Replace ``path`` by rename, keeping its mode and owner, so a reader never sees half a file.

    ``text`` may be bytes (a lookup table's index, put back as it was)."""
    directory = os.path.dirname(path) or "."
    st = os.stat(path) if os.path.exists(path) else None
    fd, tmp = tempfile.mkstemp(prefix=".unroute-", dir=directory)
    try:
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as handle:
            handle.write(text)
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Journal(object):
    """What was read before any write, so a failed check can put every file back.

    Rollback works from memory whether or not ``backup`` asked for copies on disk;
    ``backup`` only decides whether the copies stay next to the files for the admin.
    """

    def __init__(self, backup=True):
        self.backup = backup
        self.originals = {}
        self.backup_files = []
        self.stamp = time.strftime("%Y-%m-%d@%H:%M:%S")

    def keep(self, path, backup=True):
        if path in self.originals:
            return
        self.originals[path] = _read_bytes(path) if os.path.exists(path) else None
        if backup and self.backup and self.originals[path] is not None:
            copy = "%s.%s.%s~" % (path, os.getpid(), self.stamp)
            shutil.copy2(path, copy)
            self.backup_files.append(copy)

    def restore(self):
        restored = []
        for path, text in self.originals.items():
            if text is None:
                continue
            if not os.path.exists(path) or _read_bytes(path) != text:
                write_atomic(path, text)
                restored.append(path)
        # Nothing changed in the end: copies of unchanged files would only suggest otherwise.
        for copy in self.backup_files:
            if os.path.exists(copy):
                os.unlink(copy)
        self.backup_files = []
        return restored


def _read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def diff_text(files):
    """One text per side for Ansible's diff: each changed file under a header line."""
    before, after = [], []
    for path in sorted(files):
        old, new = files[path]
        if old == new:
            continue
        before.append("# %s\n%s" % (path, old or ""))
        after.append("# %s\n%s" % (path, new or ""))
    return "".join(before), "".join(after)
