# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SPF (RFC 7208) policies as terms: parse, find mxHero terms, rewrite, re-split into TXT strings."""

from __future__ import annotations

import re

# Mechanisms whose argument is a domain-spec (may carry /cidr lengths for a and mx).
_DOMAIN_MECHANISMS = ("include", "a", "mx", "ptr", "exists")
_MECHANISMS = _DOMAIN_MECHANISMS + ("all", "ip4", "ip6")
_QUALIFIERS = "+-~?"
_CIDR_SUFFIX = re.compile(r"(/\d{1,3})?(//\d{1,3})?$")
MAX_STRING = 255


def is_spf(policy):
    """True when a TXT policy is an SPF record (``v=spf1`` alone or followed by a space)."""
    text = policy.strip().lower()
    return text == "v=spf1" or text.startswith("v=spf1 ")


class Term(object):
    """One SPF term, kept verbatim (``raw``) so that a rewrite changes nothing it keeps."""

    def __init__(self, raw):
        self.raw = raw
        self.qualifier = ""
        self.modifier = False
        body = raw
        if body[:1] in _QUALIFIERS:
            self.qualifier, body = body[0], body[1:]
        lowered = body.lower()
        name, sep, value = "", "", ""
        for mech in _MECHANISMS:
            if lowered == mech or lowered.startswith(mech + ":") or lowered.startswith(mech + "/"):
                name, value = mech, body[len(mech):]
                sep = value[:1]
                value = value[1:] if sep == ":" else value
                break
        if not name and "=" in body and not self.qualifier:
            name, value = body.split("=", 1)
            name = name.lower()
            self.modifier = True
        self.name = name or body.lower()
        self.value = value if sep != "/" else ""
        self.known = bool(name)

    def target_host(self):
        """The host a domain-spec term names (cidr lengths stripped), or None."""
        if self.modifier and self.name in ("redirect", "exp"):
            return self.value or None
        if self.name in _DOMAIN_MECHANISMS and self.value:
            return _CIDR_SUFFIX.sub("", self.value)
        return None

    def __repr__(self):
        return "Term(%r)" % self.raw


def parse(policy):
    """Terms of an SPF policy after ``v=spf1`` (raises ValueError when it is not SPF)."""
    if not is_spf(policy):
        raise ValueError("not an SPF policy: %r" % policy[:40])
    words = policy.split()
    return [Term(word) for word in words[1:]]


def render(version, terms):
    return " ".join([version] + [t.raw for t in terms])


def mxhero_evidence(term, fingerprint):
    """(evidence, removable) for a term: removable mxHero terms, or report-only overlaps."""
    host = term.target_host()
    if host is not None and term.name in ("include", "a", "mx", "exists", "ptr", "redirect"):
        evidence = fingerprint.host(host)
        if evidence:
            return "%s (%s)" % (evidence, term.raw), True
    if term.name in ("ip4", "ip6") and term.value:
        evidence = fingerprint.ip(term.value)
        if evidence:
            return "%s (%s)" % (evidence, term.raw), True
        overlap = fingerprint.ip_overlap(term.value)
        if overlap:
            return "%s (%s)" % (overlap, term.raw), False
    return None, False


class SpfRewrite(object):
    """The result of removing mxHero terms from one SPF policy."""

    def __init__(self, policy, fingerprint):
        self.before = policy
        self.version = policy.split()[0]
        self.terms = parse(policy)
        self.removed = []   # (term, evidence)
        self.reported = []  # (term, evidence) - matched, but not removable by default
        kept = []
        for term in self.terms:
            evidence, removable = mxhero_evidence(term, fingerprint)
            if evidence and removable:
                self.removed.append((term, evidence))
                continue
            if evidence:
                self.reported.append((term, evidence))
            kept.append(term)
        self.kept = kept
        self.after = render(self.version, kept) if self.removed else policy

    @property
    def changed(self):
        return bool(self.removed)

    def warnings(self):
        """Consequences of the rewrite a mail administrator must hear about."""
        if not self.changed:
            return []
        out = []
        authorising = [t for t in self.kept if not t.modifier and t.name != "all" and t.qualifier in ("", "+")]
        redirect = [t for t in self.kept if t.modifier and t.name == "redirect"]
        passes_all = [t for t in self.kept if t.name == "all" and t.qualifier in ("", "+")]
        if not authorising and not redirect and not passes_all:
            out.append("the SPF record now authorises no sender (%r): mail from this domain will fail SPF "
                       "unless you add the domain's real senders" % self.after)
        if any(t.modifier and t.name == "redirect" for t, dummy in self.removed) and not any(
                t.name == "all" for t in self.kept):
            out.append("the removed redirect= was the policy's default; without an 'all' term the result "
                       "for other senders is now neutral (%r)" % self.after)
        return out


def split_strings(policy, limit=MAX_STRING):
    """Split a policy into TXT character-strings of at most ``limit`` bytes.

    Whole terms are packed where possible (the separating space ends a string,
    as hand-split records usually do); a single term longer than ``limit`` is
    cut on a UTF-8 character boundary. Concatenating the strings gives back
    ``policy`` exactly (RFC 7208 3.3).
    """
    data = policy.encode("utf-8")
    if len(data) <= limit:
        return [data]
    chunks = []
    current = b""
    for piece in re.split(rb"(?<= )", data):
        while len(piece) > limit:
            if current:
                chunks.append(current)
                current = b""
            cut = limit
            while cut > 0 and (piece[cut] & 0xC0) == 0x80:
                cut -= 1
            chunks.append(piece[:cut])
            piece = piece[cut:]
        if len(current) + len(piece) > limit:
            chunks.append(current)
            current = b""
        current += piece
    if current:
        chunks.append(current)
    return chunks


# RFC 7208 4.6.4: the terms that cost a DNS lookup (the mechanisms include, a, mx, ptr and exists, and the
# redirect modifier), at most 10 of them over the whole evaluation; at most 2 of those may be void (NXDOMAIN
# or no answer). Nested records (include, redirect) count towards the same total.
LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")
MAX_LOOKUPS = 10
MAX_VOID = 2
# How deep a chain of include/redirect is followed before it is called a loop-like chain.
MAX_DEPTH = 10


def fqdn(host):
    return host.strip().rstrip(".").lower() + "."


def costs_lookup(term):
    if term.modifier:
        return term.name == "redirect"
    return term.name in LOOKUP_TERMS


def chain_targets(policy):
    """(term, name) for each include: and redirect= of a policy whose target is a plain name (a macro such as
    %{d} is expanded only at evaluation time, so it cannot be followed here). A redirect next to an ``all``
    term is never used (RFC 7208 6.1) and is left out."""
    terms = parse(policy)
    has_all = any(t.name == "all" and not t.modifier for t in terms)
    out = []
    for term in terms:
        if (term.name == "include" and not term.modifier) or (term.modifier and term.name == "redirect" and not has_all):
            host = term.target_host()
            if host and "%" not in host:
                out.append((term, fqdn(host)))
    return out


class LookupFailed(Exception):
    """A name of a chain could not be read (the text says why): counts from there on are a lower bound."""


class Count(object):
    """The DNS lookups one SPF policy costs (RFC 7208 4.6.4), through every include and redirect."""

    def __init__(self):
        self.lookups = 0
        self.voids = 0
        self.loops = []      # [name, ..., name] paths that come back to a name already on the path
        self.unknown = []    # (name, why): not read, so the count is a lower bound
        self.too_deep = []   # paths cut at MAX_DEPTH

    @property
    def over(self):
        return self.lookups > MAX_LOOKUPS or self.voids > MAX_VOID or bool(self.loops)

    def text(self):
        words = "%d DNS lookups (limit %d), %d void (limit %d)" % (self.lookups, MAX_LOOKUPS, self.voids, MAX_VOID)
        if self.unknown:
            words += "; at least: %s not read" % ", ".join(name.rstrip(".") for name, dummy in self.unknown)
        if self.loops:
            words += "; loop %s" % "; ".join(" -> ".join(n.rstrip(".") for n in loop) for loop in self.loops)
        return words


def count_lookups(name, policy, fetch, skip=None, max_depth=MAX_DEPTH):
    """How many DNS lookups evaluating ``policy`` (the SPF record of ``name``) costs.

    ``fetch(name)`` gives the SPF policy of a name, None when it has none (a void lookup), or raises
    LookupFailed. ``skip(name)`` says a target is not to be read (mxHero's own records: counted, not
    followed)."""
    count = Count()

    def walk(policy, path):
        try:
            terms = parse(policy)
        except ValueError:
            return
        count.lookups += sum(1 for t in terms if costs_lookup(t))
        for term, target in chain_targets(policy):
            if target in path:
                count.loops.append(path + [target])
                continue
            if len(path) > max_depth:
                count.too_deep.append(path + [target])
                continue
            if skip is not None and skip(target):
                continue
            try:
                nested = fetch(target)
            except LookupFailed as err:
                count.unknown.append((target, str(err)))
                continue
            if nested is None:
                count.voids += 1
                continue
            walk(nested, path + [target])

    walk(policy, [fqdn(name)])
    return count
