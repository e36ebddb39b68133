"""Translating the JUEL/UEL expressions of Camunda, Flowable and Activiti into sandboxed Python.

Models drawn for Java engines write gateway conditions as ``${approved}``,
``${!approved}``, ``${amount > 1000 && level == 'A'}`` or ``#{x eq 'y'}``.
onetrip runs conditions as Python over the task data (:mod:`engine.sandbox`),
so at upload the expression is translated once, the original stays in the
stored BPMN, and ``process show`` lists both.

The subset translated is what conditions use in practice:

* identifiers and property paths: ``a``, ``a.b``, ``a['b']``, ``a[0]``
  (task data are JSON objects, so ``a.b`` becomes ``a["b"]``);
* literals: ``true``, ``false``, ``null``, numbers, '...' and "..." strings;
* comparisons ``== != < > <= >=`` and their words ``eq ne lt gt le ge``;
* logic ``&& || !`` and ``and or not``; ``empty x``; parentheses.

Every binary operation is parenthesised, so EL's left-associative
comparisons never become Python's chained ones.  EL's coercions are kept for
data that arrive as text: a variable in a boolean place is true when it is
true or the text "true" (``${approved}`` becomes ``str(approved).lower() ==
'true'``), and a variable compared with a number is read as a number
(``${amount > 1000}`` becomes ``float(amount) > 1000``).  Anything else (method
calls such as ``execution.getVariable('x')``, arithmetic, the ternary
operator, lambdas, composite text around ``${...}``) raises
:class:`JuelError` whose message says how to write it instead.

The parser is a small recursive-descent parser over a real tokenizer (no
regular expression rewriting), so ``'}'`` or ``'&&'`` inside a string
literal is just text.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass

FIX = "write the condition as a Python expression over the task data, e.g. amount > 1000 and level == 'A'"

_WORD_OPS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
             "and": "and", "or": "or", "not": "not", "empty": "empty",
             "true": "True", "false": "False", "null": "None",
             "div": None, "mod": None, "instanceof": None}


#: Deeper nesting (parentheses, negations) is no condition a person writes, and would exhaust the stack.
MAX_NESTING = 50
#: Longer expressions are refused before they are read.
MAX_LENGTH = 10_000


class JuelError(ValueError):
    """An expression outside the translated subset; the message carries the fix."""


@dataclass(frozen=True)
class Token:
    kind: str      # name, number, string, op, end
    text: str
    pos: int


_OPS = ("==", "!=", "<=", ">=", "&&", "||", "->", "<", ">", "!", "(", ")", ".", "[", "]", "}",
        "+", "-", "*", "/", "%", "?", ":", ",", "=", "{", ";")


def tokenize(text: str, start: int = 0) -> list[Token]:
    """Tokens of an EL expression body, up to and including the closing ``}`` at depth 0."""
    tokens, i, n, depth = [], start, len(text), 0
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "'\"":
            j, out = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(text[j])
                j += 1
            if j >= n:
                raise JuelError(f"unterminated string starting at column {i + 1}")
            tokens.append(Token("string", "".join(out), i))
            i = j + 1
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and (text[j].isdigit() or text[j] == "."):
                j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isdigit():
                    j = k
                    while j < n and text[j].isdigit():
                        j += 1
            tokens.append(Token("number", text[i:j], i))
            i = j
            continue
        if c.isalpha() or c in "_$":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_$"):
                j += 1
            tokens.append(Token("name", text[i:j], i))
            i = j
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is None:
            raise JuelError(f"unexpected character {c!r} at column {i + 1}")
        if op == "{":
            depth += 1
        if op == "}":
            if depth == 0:
                tokens.append(Token("end", "}", i))
                return tokens
            depth -= 1
        tokens.append(Token("op", op, i))
        i += len(op)
    raise JuelError("expression is not closed with '}'")


class _Parser:
    def __init__(self, tokens: list[Token], source: str):
        self.tokens, self.i, self.source, self.depth = tokens, 0, source, 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _is(self, *texts: str) -> bool:
        t = self.tok
        return t.kind in ("op", "name") and t.text in texts

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def expect(self, text: str) -> None:
        if not self._is(text):
            self.fail(f"expected {text!r}")
        self.take()

    def fail(self, what: str):
        t = self.tok
        found = "the end" if t.kind == "end" else repr(t.text)
        raise JuelError(f"{what} at {found}")

    def outside(self, what: str):
        raise JuelError(f"{what} is outside the JUEL subset onetrip translates; {FIX}")

    # grammar, lowest precedence first; every rule returns (python, kind), kind being one of
    # "bool" (a truth value), "num", "str", "true", "false", "null" (literals) or "value" (task data)

    def expression(self) -> tuple[str, str]:
        operands = [self.conjunction()]
        while self._is("||", "or"):
            self.take()
            operands.append(self.conjunction())
        if self._is("?"):
            self.outside("the conditional operator (a ? b : c)")
        if len(operands) == 1:
            return operands[0]
        return "(" + " or ".join(truth(o) for o in operands) + ")", "bool"     # or is associative

    def conjunction(self) -> tuple[str, str]:
        operands = [self.equality()]
        while self._is("&&", "and"):
            self.take()
            operands.append(self.equality())
        if len(operands) == 1:
            return operands[0]
        return "(" + " and ".join(truth(o) for o in operands) + ")", "bool"

    def equality(self) -> tuple[str, str]:
        left = self.relation()
        while self._is("==", "!=", "eq", "ne"):
            word = self.take().text
            op = _WORD_OPS.get(word, word)
            left = (compare(left, op, self.relation()), "bool")
        return left

    def relation(self) -> tuple[str, str]:
        left = self.unary()
        while self._is("<", ">", "<=", ">=", "lt", "gt", "le", "ge"):
            op = self.take().text
            left = (compare(left, _WORD_OPS.get(op, op), self.unary()), "bool")
        if self._is("+", "-", "*", "/", "%", "div", "mod"):
            self.outside(f"arithmetic ({self.tok.text!r})")
        if self._is("=", "->", ";", ",", ":"):
            self.outside(f"{self.tok.text!r}")
        if self._is("instanceof"):
            self.outside("instanceof")
        return left

    def unary(self) -> tuple[str, str]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise JuelError(f"expression nested deeper than {MAX_NESTING} levels")
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> tuple[str, str]:
        if self._is("!", "not"):
            self.take()
            return negate(self.unary()), "bool"
        if self._is("empty"):
            self.take()
            operand = self.unary()[0]
            return f"({operand} is None or {operand} == '' or {operand} == [] or {operand} == {{}})", "bool"
        if self._is("-"):
            self.take()
            if self.tok.kind != "number":
                self.outside("arithmetic ('-')")
            return "-" + self.number(self.take()), "num"
        return self.primary()

    def number(self, tok: Token) -> str:
        try:
            float(tok.text)
        except ValueError:
            self.fail("malformed number")
        return tok.text

    def primary(self) -> tuple[str, str]:
        t = self.tok
        if t.kind == "number":
            return self.number(self.take()), "num"
        if t.kind == "string":
            return repr(self.take().text), "str"
        if self._is("("):
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        if t.kind == "name":
            if t.text in ("true", "false", "null"):
                self.take()
                return _WORD_OPS[t.text], t.text
            if t.text in _WORD_OPS:
                self.fail("expected a value")
            return self.path(), "value"
        if t.kind == "end":
            self.fail("expected a value")
        if self._is("[", "{"):
            self.outside("a list or map literal")
        self.fail("expected a value")

    def path(self) -> str:
        name = self.take().text
        if "$" in name or keyword.iskeyword(name) or name.startswith("_"):
            raise JuelError(f"variable name {name!r} cannot be used in a Python condition; "
                            f"rename the variable (letters, digits and _ , not starting with _)")
        out = name
        while True:
            if self._is("("):
                self.outside(f"a method or function call ({name}(...))")
            if self._is("."):
                self.take()
                if self.tok.kind != "name":
                    self.fail("expected a property name after '.'")
                prop = self.take().text
                if self._is("("):
                    self.outside(f"a method call (.{prop}(...))")
                out = f"{out}[{prop!r}]"
                name = prop
            elif self._is("["):
                self.take()
                t = self.tok
                if t.kind == "string":
                    key = repr(self.take().text)
                elif t.kind == "number" and t.text.isdigit():
                    key = self.take().text
                else:
                    self.outside("a computed index (a[expr])")
                self.expect("]")
                out = f"{out}[{key}]"
            else:
                return out


# EL's coercions (JSR 341, 1.8-1.9), for task data that arrive as text ("5000", "true"):
# a value in a boolean place is true only when it is true or the text "true" (any case);
# compared with a number it is read as a number; compared with true/false, as a boolean.

def truth(operand: tuple[str, str]) -> str:
    code, kind = operand
    if kind == "value":
        return f"(str({code}).lower() == 'true')"
    if kind in ("true", "false", "bool"):
        return code
    raise JuelError(f"{code} is not a truth value (EL would refuse it)")


def negate(operand: tuple[str, str]) -> str:
    code, kind = operand
    if kind == "value":
        return f"(str({code}).lower() != 'true')"
    return f"(not {truth(operand)})"


def compare(left: tuple[str, str], op: str, right: tuple[str, str]) -> str:
    (lcode, lkind), (rcode, rkind) = left, right
    if op in ("==", "!=") and {lkind, rkind} & {"true", "false"} and {lkind, rkind} & {"value", "bool"}:
        value = left if rkind in ("true", "false") else right
        literal = rkind if rkind in ("true", "false") else lkind
        wanted = (literal == "true") == (op == "==")
        if value[1] == "bool":
            return value[0] if wanted else f"(not {value[0]})"
        return truth(value) if wanted else negate(value)
    if "num" in (lkind, rkind):
        lcode = f"float({lcode})" if lkind == "value" else lcode
        rcode = f"float({rcode})" if rkind == "value" else rcode
    return f"({lcode} {op} {rcode})"


def is_el(text: str | None) -> bool:
    """Whether a text is written in EL (contains ``${`` or ``#{``)."""
    return bool(text) and ("${" in text or "#{" in text)


def translate(text: str, value: bool = False) -> str:
    """Translate one ``${...}``/``#{...}`` expression (the whole text) into a Python expression.

    A condition (the default) must come out as a truth value; ``value`` keeps a
    plain value as it is (a timer's ``${duration}``, a cardinality's ``${n}``).
    """
    body = text.strip()
    if len(body) > MAX_LENGTH:
        raise JuelError(f"expression is {len(body):,} characters long, over the limit of {MAX_LENGTH:,}")
    if not (body.startswith("${") or body.startswith("#{")):
        raise JuelError("text around ${...} (a composite expression) is outside the JUEL subset "
                        f"onetrip translates; {FIX}")
    tokens = tokenize(body, 2)
    end = tokens[-1].pos
    if body[end + 1:].strip():
        raise JuelError("text after the closing '}' (a composite expression) is outside the JUEL "
                        f"subset onetrip translates; {FIX}")
    if len(tokens) == 1:
        raise JuelError("empty expression ${}")
    parser = _Parser(tokens, body)
    result = parser.expression()
    if parser.tok.kind != "end":
        parser.outside(f"{parser.tok.text!r} after a complete expression")
    python = result[0] if value else truth(result)
    return python[1:-1] if python.startswith("(") and _balanced_outer(python) else python


def _balanced_outer(text: str) -> bool:
    """Whether the first '(' closes at the very end (outer parentheses can be dropped)."""
    depth, quote, escaped = 0, None, False
    for i, c in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = None
            continue
        if c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
    return True
