# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a person finds each Gmail setting type in the Admin console, for manual steps.

From Google's "Policy API supported settings" page
(https://docs.cloud.google.com/identity/docs/concepts/supported-policy-api-settings, read 2026-11-26).
The page's "Mutate supported" column could not be read for the Gmail rows, so the
collection ships no list of mutable types: users name them in ``mutable_setting_types``.
"""

from __future__ import annotations

CONSOLE = "Admin console > Apps > Google Workspace > Gmail"

PLACES = {
    "gmail.email_spam_filter_ip_allowlist": "Spam, Phishing and Malware > Email allowlist",
    "gmail.spam_override_lists": "Spam, Phishing and Malware > Spam",
    "gmail.blocked_sender_lists": "Spam, Phishing and Malware > Blocked senders",
    "gmail.email_address_lists": "Manage address lists",
    "gmail.content_compliance": "Compliance > Content compliance",
    "gmail.objectionable_content": "Compliance > Objectionable content",
    "gmail.attachment_compliance": "Compliance > Attachment compliance",
    "gmail.comprehensive_mail_storage": "Compliance > Comprehensive mail storage",
    "gmail.per_user_outbound_gateway": "End User Access > Allow per-user outbound gateways",
    "gmail.email_image_proxy_bypass": "End User Access > Image URL proxy allowlist",
    "gmail.enhanced_smime_encryption": "User settings > S/MIME",
    "gmail.auto_forwarding": "End User Access > Automatic forwarding",
}

GATEWAY_PLACE = "%s > Routing > Outbound gateway" % CONSOLE


def bare(setting_type):
    text = str(setting_type or "")
    return text[len("settings/"):] if text.startswith("settings/") else text


def place(setting_type):
    name = bare(setting_type)
    return "%s > %s" % (CONSOLE, PLACES[name]) if name in PLACES else "%s (setting %s)" % (CONSOLE, name)
