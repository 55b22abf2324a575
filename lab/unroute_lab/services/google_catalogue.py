"""The Gmail setting types the emulated Cloud Identity Policy API knows.

Source: Google, "Policy API supported settings",
https://docs.cloud.google.com/identity/docs/concepts/supported-policy-api-settings
(read through stored copies on 2026-11-26; the Gmail type names and field names
agree with GAM's wiki page "Cloud Identity Policies", which quotes the same page).

Mutate support: the page has a "Mutate supported" column. The rows we could
read (API controls, Calendar) say "No"; the stored copies did not show the
Gmail rows' values, so every Gmail type is marked ``None`` (unconfirmed) here.
The emulator treats unconfirmed as "not mutable" - the conservative reading -
and an estate may declare types mutable per customer (``google.mutate_supported``)
to model Google's page saying "Yes". docs/google.md states this limitation.

No type is listed for the domain-level Gmail outbound gateway (Gmail > Routing >
Outbound gateway): Google publishes none, so the emulator does not invent one.
``gmail.per_user_outbound_gateway`` is only the end-user permission.
"""

from __future__ import annotations

# setting type (without the "settings/" prefix) -> (Admin console place, value fields, mutate supported)
GMAIL_SETTINGS = {
    "gmail.confidential_mode": ("Gmail > User settings > Confidential mode", ("enableConfidentialMode",), None),
    "gmail.enhanced_smime_encryption": ("Gmail > User settings > S/MIME",
                                        ("enableSmimeEncryption", "allowUserToUploadCertificates",
                                         "customRootCertificates"), None),
    "gmail.email_spam_filter_ip_allowlist": ("Gmail > Spam, Phishing and Malware > Email allowlist",
                                             ("allowedIpAddresses",), None),
    "gmail.enhanced_pre_delivery_message_scanning": (
        "Gmail > Spam, Phishing and Malware > Enhanced pre-delivery message scanning",
        ("enableImprovedSuspiciousContentDetection",), None),
    "gmail.spoofing_and_authentication": ("Gmail > Safety > Spoofing and authentication",
                                          ("detectDomainNameSpoofing", "detectEmployeeNameSpoofing",
                                           "detectDomainSpoofingFromUnauthenticatedSenders",
                                           "detectUnauthenticatedEmails", "detectGroupsSpoofing",
                                           "applyFutureSettingsAutomatically"), None),
    "gmail.links_and_external_images": ("Gmail > Safety > Links and external images",
                                        ("enableShortenerScanning", "enableExternalImageScanning",
                                         "enableAggressiveWarningsOnUntrustedLinks",
                                         "applyFutureSettingsAutomatically"), None),
    "gmail.email_attachment_safety": ("Gmail > Safety > Attachments",
                                      ("enableEncryptedAttachmentProtection",
                                       "enableAttachmentWithScriptsProtection",
                                       "enableAnomalousAttachmentProtection",
                                       "allowedAnomalousAttachmentFiletypes",
                                       "applyFutureRecommendedSettingsAutomatically"), None),
    "gmail.email_address_lists": ("Gmail > Manage address lists", ("emailAddressList",), None),
    "gmail.blocked_sender_lists": ("Gmail > Spam, Phishing and Malware > Blocked senders", ("blockedSenders",), None),
    "gmail.spam_override_lists": ("Gmail > Spam, Phishing and Malware > Spam", ("spamOverride",), None),
    "gmail.content_compliance": ("Gmail > Compliance > Content compliance", ("contentComplianceRules",), None),
    "gmail.objectionable_content": ("Gmail > Compliance > Objectionable content",
                                    ("objectionableContentRules",), None),
    "gmail.attachment_compliance": ("Gmail > Compliance > Attachment compliance",
                                    ("attachmentComplianceRules",), None),
    "gmail.comprehensive_mail_storage": ("Gmail > Compliance > Comprehensive mail storage", ("ruleId",), None),
    "gmail.rule_states": ("Gmail (state of every rule)", ("ruleStates",), None),
    "gmail.user_email_uploads": ("Gmail > Setup > User email uploads", ("enableMailAndContactsImport",), None),
    "gmail.pop_access": ("Gmail > End User Access > POP and IMAP access", ("enablePopAccess",), None),
    "gmail.imap_access": ("Gmail > End User Access > POP and IMAP access",
                          ("enableImapAccess", "imapAccessRestriction"), None),
    "gmail.workspace_sync_for_outlook": ("Gmail > End User Access > Google Workspace Sync",
                                         ("enableGoogleWorkspaceSyncForMicrosoftOutlook",), None),
    "gmail.auto_forwarding": ("Gmail > End User Access > Automatic forwarding", ("enableAutoForwarding",), None),
    # The page's Korean copy spells this gmail.name_format; GAM's list spells gmail.gmail_name_format.
    "gmail.name_format": ("Gmail > User settings > Name format",
                          ("allowCustomDisplayNames", "defaultDisplayNameFormat"), None),
    "gmail.per_user_outbound_gateway": ("Gmail > End User Access > Allow per-user outbound gateways",
                                        ("allowUsersToUseExternalSmtpServers",), None),
    "gmail.email_image_proxy_bypass": ("Gmail > End User Access > Image URL proxy allowlist",
                                       ("imageProxyBypassPattern", "enableImageProxy"), None),
    "gmail.mail_delegation": ("Gmail > User settings > Mail delegation",
                              ("enableMailDelegation", "allowCustomDelegateAttribution",
                               "enableDelegateAttribution", "enableMailboxGroupDelegation"), None),
}


def known(setting_type):
    """True when ``settings/gmail.x`` (or ``gmail.x``) is in Google's published list."""
    return _bare(setting_type) in GMAIL_SETTINGS


def mutate_supported(setting_type, overrides=()):
    """Google's column says Yes (or the estate models that it does)."""
    bare = _bare(setting_type)
    if bare in set(_bare(t) for t in overrides or ()):
        return True
    entry = GMAIL_SETTINGS.get(bare)
    return bool(entry and entry[2])


def _bare(setting_type):
    text = str(setting_type or "")
    return text[len("settings/"):] if text.startswith("settings/") else text
