"""The subset of CEL that policies.list accepts in ``filter`` (per the v1 discovery document):
``customer == "customers/X"``, ``setting.type.matches('re')``, ``setting.type == "t"``,
combined with ``&&``, ``||`` and parentheses. Anything else is INVALID_ARGUMENT, as Google answers.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"""\s*(?:(\&\&|\|\||\(|\))|(customer|setting\.type)\s*==\s*("[^"]*"|'[^']*')|"""
                    r"""setting\.type\.matches\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\))""")


class FilterError(ValueError):
    pass


def _unquote(text):
    body = text[1:-1]
    # CEL string escapes: the only one that matters in these filters is the doubled backslash.
    return body.replace("\\\\", "\\")


def tokenize(text):
    pos, out = 0, []
    text = text or ""
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise FilterError("Invalid filter near %r" % text[pos:pos + 30])
        pos = match.end()
        if match.group(1):
            out.append(("op", match.group(1)))
        elif match.group(2):
            out.append(("eq", match.group(2), _unquote(match.group(3))))
        else:
            pattern = _unquote(match.group(4))
            try:
                out.append(("re", re.compile(pattern)))
            except re.error as err:
                raise FilterError("Invalid regular expression %r: %s" % (pattern, err))
    return out


class Filter:
    """Parsed filter: ``customers`` it names and ``match(policy)``."""

    def __init__(self, text):
        self.tokens = tokenize(text)
        self.customers = [t[2] for t in self.tokens if t[0] == "eq" and t[1] == "customer"]
        self._pos = 0
        self.tree = self._expr() if self.tokens else None
        if self._pos != len(self.tokens):
            raise FilterError("Invalid filter: unexpected %r" % (self.tokens[self._pos][-1],))

    def _peek(self):
        return self.tokens[self._pos] if self._pos < len(self.tokens) else None

    def _expr(self):
        return self._chain("||", "or", self._term)

    def _term(self):
        return self._chain("&&", "and", self._atom)

    def _chain(self, op, tag, operand):
        """``operand (op operand)*``, left-associative: && binds tighter than || by calling this twice."""
        node = operand()
        while self._peek() == ("op", op):
            self._pos += 1
            node = (tag, node, operand())
        return node

    def _atom(self):
        tok = self._peek()
        if tok is None:
            raise FilterError("Invalid filter: expression ends early")
        self._pos += 1
        if tok == ("op", "("):
            node = self._expr()
            if self._peek() != ("op", ")"):
                raise FilterError("Invalid filter: missing )")
            self._pos += 1
            return node
        if tok[0] in ("eq", "re"):
            return tok
        raise FilterError("Invalid filter: unexpected %r" % tok[1])

    def match(self, policy):
        return self.tree is None or self._eval(self.tree, policy)

    def _eval(self, node, policy):
        kind = node[0]
        if kind == "and":
            return self._eval(node[1], policy) and self._eval(node[2], policy)
        if kind == "or":
            return self._eval(node[1], policy) or self._eval(node[2], policy)
        if kind == "re":
            return node[1].search(policy["setting"]["type"]) is not None
        if node[1] == "customer":
            # The customer clause selects whose policies are listed; checked by the caller.
            return True
        return policy["setting"]["type"] == node[2]
