"""The lab's SMTP sink (lab/unroute_lab/smtp_sink.py), for the mail-flow tests."""

from __future__ import annotations

from unroute_lab.smtp_sink import Sink  # noqa: F401
