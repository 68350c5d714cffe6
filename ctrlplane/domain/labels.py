"""Label selectors: the metav1.LabelSelector message and kubectl's selector strings.

Owns matching (matchLabels + matchExpressions In/NotIn/Exists/DoesNotExist, and the
string forms =, ==, !=, in, notin, key, !key, >, <), parsing "a=b,c in (d,e),!f" with
errors a person can act on, printing back, and label key/value syntax checks.
Must not know about nodes, pods or taints.

Kubernetes semantics (apimachinery pkg/labels, metav1.LabelSelectorAsSelector): an
empty selector matches everything, a nil selector matches nothing; NotIn and != match
a label that is absent; Gt/Lt compare integers and never match a non-integer label.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import FieldError, InvalidSpec

_INT64_RE = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_int64(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 10, 64): no spaces, no underscores; None if not one."""
    if not _INT64_RE.fullmatch(text):
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


# ---- label syntax (k8s.io/apimachinery/pkg/util/validation) ------------------

_NAME_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_SUBDOMAIN_RE = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)


def label_key_error(key: str) -> str | None:
    """Why `key` is not a qualified name ([prefix/]name), or None when it is one."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return f"invalid label key {key!r}: prefix part must be non-empty"
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN_RE.fullmatch(prefix)):
        return (
            f"invalid label key {key!r}: prefix part must be a lowercase DNS subdomain"
            " (at most 253 characters)"
        )
    if not name:
        return f"invalid label key {key!r}: name part must be non-empty"
    if len(name) > 63:
        return f"invalid label key {key!r}: name part must be no more than 63 characters"
    if not _NAME_RE.fullmatch(name):
        return (
            f"invalid label key {key!r}: name part must consist of alphanumeric characters,"
            " '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return None


def label_value_error(value: str) -> str | None:
    """Why `value` is not a valid label value, or None when it is one (empty is valid)."""
    if len(value) > 63:
        return f"invalid label value {value!r}: must be no more than 63 characters"
    if value and not _NAME_RE.fullmatch(value):
        return (
            f"invalid label value {value!r}: must be empty or consist of alphanumeric"
            " characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return None


# ---- requirements and selectors ---------------------------------------------


class Operator(enum.Enum):
    """Selector operators; the value is the LabelSelector/NodeSelector spelling."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
    GT = "Gt"
    LT = "Lt"
    # String-form spellings of a one-value In / NotIn, kept apart so they print back.
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="


_SET_OPS = frozenset({Operator.IN, Operator.NOT_IN})
_NO_VALUE_OPS = frozenset({Operator.EXISTS, Operator.DOES_NOT_EXIST})
_ONE_VALUE_OPS = frozenset(
    {Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS, Operator.GT, Operator.LT}
)
_POSITIVE_OPS = frozenset({Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS})
_NEGATIVE_OPS = frozenset({Operator.NOT_IN, Operator.NOT_EQUALS})


@dataclass(frozen=True, slots=True)
class Requirement:
    """One `key op values` condition. Build with `requirement()` to get it checked."""

    key: str
    operator: Operator
    values: tuple[str, ...]
    # Gt/Lt: the parsed bound; set by requirement().
    bound: int = 0

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        value = labels.get(self.key)
        if op in _POSITIVE_OPS:
            return value is not None and value in self.values
        if op in _NEGATIVE_OPS:
            return value is None or value not in self.values
        if op is Operator.EXISTS:
            return value is not None
        if op is Operator.DOES_NOT_EXIST:
            return value is None
        if value is None:
            return False
        number = parse_int64(value)
        if number is None:
            return False
        return number > self.bound if op is Operator.GT else number < self.bound

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        if op is Operator.IN:
            return f"{self.key} in ({','.join(self.values)})"
        if op is Operator.NOT_IN:
            return f"{self.key} notin ({','.join(self.values)})"
        symbol = {Operator.GT: ">", Operator.LT: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{self.values[0]}"

    def describe(self) -> str:
        """As reasons print it: `security In [S1]`, `app Exists`, `app=web`, `cores>4`."""
        if self.operator in _ONE_VALUE_OPS:
            return str(self)
        if self.operator in _NO_VALUE_OPS:
            return f"{self.key} {self.operator.value}"
        return f"{self.key} {self.operator.value} [{' '.join(self.values)}]"


def requirement(key: str, operator: Operator | str, values: Iterable[str] = ()) -> Requirement:
    """A checked Requirement; raises ValueError with the reason (callers add the path)."""
    try:
        op = operator if isinstance(operator, Operator) else Operator(operator)
    except ValueError:
        names = ", ".join(o.value for o in Operator if o.value[0].isalpha())
        raise ValueError(f"unknown operator {operator!r}: must be one of {names}") from None
    error = label_key_error(key)
    if error:
        raise ValueError(error)
    vals = tuple(values)
    if op in _SET_OPS:
        if not vals:
            raise ValueError(f"values must be non-empty for operator {op.value}")
        vals = tuple(sorted(set(vals)))
    elif op in _NO_VALUE_OPS:
        if vals:
            raise ValueError(f"values must be empty for operator {op.value}")
    elif len(vals) != 1:
        raise ValueError(f"exactly one value is required for operator {op.value}")
    bound = 0
    if op in (Operator.GT, Operator.LT):
        parsed = parse_int64(vals[0])
        if parsed is None:
            raise ValueError(f"value {vals[0]!r} for operator {op.value} must be an integer")
        bound = parsed
    else:
        for v in vals:
            error = label_value_error(v)
            if error:
                raise ValueError(error)
    return Requirement(key, op, vals, bound)


@dataclass(frozen=True, slots=True)
class Selector:
    """Requirements ANDed; `nothing` is the nil selector that matches no label set."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.nothing:
            return False
        # A plain loop: about twice as fast as all(<genexpr>) on this hot path.
        for r in self.requirements:  # noqa: SIM110
            if not r.matches(labels):
                return False
        return True

    def __str__(self) -> str:
        """kubectl's string form; the nil selector prints as "<none>" (it has no string form)."""
        if self.nothing:
            return "<none>"
        return ",".join(str(r) for r in self.requirements)

    def describe(self) -> str:
        """LabelSelector spelling for reasons: `security In [S1], app=web`."""
        if self.nothing:
            return "<nil selector>"
        if not self.requirements:
            return "<everything>"
        return ", ".join(r.describe() for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def _sorted(reqs: Iterable[Requirement]) -> tuple[Requirement, ...]:
    # Stable sort by key, as apimachinery's internalSelector keeps them.
    return tuple(sorted(reqs, key=lambda r: r.key))


def selector_from_map(match_labels: Mapping[str, str]) -> Selector:
    """matchLabels / nodeSelector: every key must be present with exactly that value."""
    return Selector(_sorted(Requirement(k, Operator.EQUALS, (v,)) for k, v in match_labels.items()))


def selector_errors(sel: objects_pb2.LabelSelector, path: str) -> list[FieldError]:
    """Every problem in a LabelSelector message, each with its field path."""
    errors: list[FieldError] = []
    for key, value in sorted(sel.match_labels.items()):
        for problem in (label_key_error(key), label_value_error(value)):
            if problem:
                errors.append(FieldError(f"{path}.matchLabels[{key}]", problem))
    for i, expr in enumerate(sel.match_expressions):
        if expr.operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            errors.append(
                FieldError(
                    f"{path}.matchExpressions[{i}].operator",
                    f"unknown operator {expr.operator!r}: must be one of In, NotIn, Exists,"
                    " DoesNotExist",
                )
            )
            continue
        try:
            requirement(expr.key, expr.operator, expr.values)
        except ValueError as e:
            errors.append(FieldError(f"{path}.matchExpressions[{i}]", str(e)))
    return errors


def selector_from_proto(sel: objects_pb2.LabelSelector | None, path: str = "selector") -> Selector:
    """metav1.LabelSelectorAsSelector: None is NOTHING, an empty one EVERYTHING.

    Raises InvalidSpec naming the field when an expression is malformed.
    """
    if sel is None:
        return NOTHING
    errors = selector_errors(sel, path)
    if errors:
        raise InvalidSpec(errors)
    reqs = [Requirement(k, Operator.EQUALS, (v,)) for k, v in sel.match_labels.items()]
    reqs += [requirement(e.key, e.operator, e.values) for e in sel.match_expressions]
    return Selector(_sorted(reqs))


def compile_selector(sel: objects_pb2.LabelSelector | None) -> Selector:
    """Like selector_from_proto, but a malformed selector matches nothing instead of raising.

    Scheduling uses it: validation rejects such specs at apply time, and a spec already
    in the log must not crash the controller.
    """
    try:
        return selector_from_proto(sel)
    except InvalidSpec:
        return NOTHING


# ---- the string form (kubectl -l / --selector) -------------------------------

_SPECIALS = "!=(),<>"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "id", "end", or the symbol itself ("!", "!=", "=", "==", "(", ")", ",", ">", "<")
    text: str
    pos: int


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in _SPECIALS:
            two = text[i : i + 2]
            sym = two if two in ("!=", "==") else c
            tokens.append(_Token(sym, sym, i))
            i += len(sym)
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in _SPECIALS:
            j += 1
        tokens.append(_Token("id", text[i:j], i))
        i = j
    tokens.append(_Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.tokens = _lex(text)
        self.i = 0

    def fail(self, tok: _Token, expected: str) -> InvalidSpec:
        found = "end of string" if tok.kind == "end" else repr(tok.text)
        return InvalidSpec(
            [
                FieldError(
                    self.path,
                    f"invalid selector {self.text!r}: at position {tok.pos}: found {found},"
                    f" expected {expected}",
                )
            ]
        )

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Selector:
        reqs: list[Requirement] = []
        if self.peek().kind == "end":
            return EVERYTHING
        while True:
            reqs.append(self.requirement())
            tok = self.take()
            if tok.kind == "end":
                return Selector(_sorted(reqs))
            if tok.kind != ",":
                raise self.fail(tok, "',' or end of string")

    def key(self) -> _Token:
        tok = self.take()
        if tok.kind != "id" or tok.text in ("in", "notin"):
            raise self.fail(tok, "a label key")
        return tok

    def requirement(self) -> Requirement:
        if self.peek().kind == "!":
            self.take()
            return self.make(self.key(), Operator.DOES_NOT_EXIST, [])
        key = self.key()
        op_tok = self.take()
        if op_tok.kind in ("end", ","):
            self.i -= 1
            return self.make(key, Operator.EXISTS, [])
        ops = {
            "=": Operator.EQUALS,
            "==": Operator.DOUBLE_EQUALS,
            "!=": Operator.NOT_EQUALS,
            ">": Operator.GT,
            "<": Operator.LT,
        }
        if op_tok.kind == "id" and op_tok.text in ("in", "notin"):
            op = Operator.IN if op_tok.text == "in" else Operator.NOT_IN
            return self.make(key, op, self.value_set())
        if op_tok.kind not in ops:
            raise self.fail(op_tok, "one of =, ==, !=, in, notin, >, <, ',' or end of string")
        tok = self.peek()
        if tok.kind in ("end", ","):
            value = ""
        elif tok.kind == "id":
            value = self.take().text
        else:
            raise self.fail(tok, "a label value")
        return self.make(key, ops[op_tok.kind], [value])

    def value_set(self) -> list[str]:
        tok = self.take()
        if tok.kind != "(":
            raise self.fail(tok, "'('")
        values: list[str] = []
        while True:
            tok = self.take()
            if tok.kind != "id":
                raise self.fail(tok, "a label value")
            values.append(tok.text)
            tok = self.take()
            if tok.kind == ")":
                return values
            if tok.kind != ",":
                raise self.fail(tok, "',' or ')'")

    def make(self, key: _Token, op: Operator, values: Sequence[str]) -> Requirement:
        try:
            return requirement(key.text, op, values)
        except ValueError as e:
            raise InvalidSpec(
                [FieldError(self.path, f"invalid selector {self.text!r}: {key.text!r}: {e}")]
            ) from None


def parse_selector(text: str, path: str = "selector") -> Selector:
    """Parse kubectl's selector string ("a=b,c!=d,e in (f,g),f notin (x),g,!h,n>3").

    The empty string selects everything. Raises InvalidSpec naming `path`.
    """
    return _Parser(text, path).parse()


__all__ = [
    "EVERYTHING",
    "NOTHING",
    "Operator",
    "Requirement",
    "Selector",
    "compile_selector",
    "label_key_error",
    "label_value_error",
    "parse_int64",
    "parse_selector",
    "requirement",
    "selector_errors",
    "selector_from_map",
    "selector_from_proto",
]
