# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  mxhero_domains:
    description:
      - Extra domains whose hosts count as mxHero (white-label or regional hosts), in addition to C(mxhero.com).
      - A host matches when it equals such a domain or ends with C(.)+domain (label boundary), so
        C(notmxhero.com) and C(mxhero.com.evil.example) never match.
    type: list
    elements: str
    default: []
  mxhero_ips:
    description:
      - Extra IPv4/IPv6 addresses or networks that count as mxHero, in addition to the published addresses.
    type: list
    elements: str
    default: []
  mxhero_name_patterns:
    description:
      - Extra case-insensitive substrings that mark an object name as mxHero's (weak evidence), in addition to C(mxhero).
    type: list
    elements: str
    default: []
  match_cidrs:
    description:
      - Treat a network that merely contains an mxHero address (for example a V(/16)) as mxHero's.
      - By default such a network is reported, not removed, because it may hold other senders too.
    type: bool
    default: false
  fingerprint:
    description:
      - The same four settings as one dictionary, so that a play can pass one variable (the role's
        C(unroute_fingerprint)) whole to every module.
      - Its lists are added to O(mxhero_domains), O(mxhero_ips) and O(mxhero_name_patterns); O(match_cidrs) holds
        when either says so.
    type: dict
    suboptions:
      mxhero_domains:
        description: As O(mxhero_domains).
        type: list
        elements: str
        default: []
      mxhero_ips:
        description: As O(mxhero_ips).
        type: list
        elements: str
        default: []
      mxhero_name_patterns:
        description: As O(mxhero_name_patterns).
        type: list
        elements: str
        default: []
      match_cidrs:
        description: As O(match_cidrs).
        type: bool
        default: false
"""
