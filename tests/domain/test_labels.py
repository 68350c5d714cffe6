"""Label selectors: LabelSelector messages and kubectl selector strings."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.labels import (
    EVERYTHING,
    NOTHING,
    Operator,
    Requirement,
    Selector,
    compile_selector,
    label_key_error,
    label_value_error,
    parse_int64,
    parse_selector,
    requirement,
    selector_from_map,
    selector_from_proto,
)

LABELS = {"app": "web", "tier": "front", "env": "prod", "cores": "8", "name": "x1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", True, id="empty-string-selects-everything"),
        pytest.param("app=web", True, id="equals"),
        pytest.param("app==web", True, id="double-equals"),
        pytest.param("app=db", False, id="equals-other-value"),
        pytest.param("missing=x", False, id="equals-absent-key"),
        pytest.param("app!=db", True, id="not-equals"),
        pytest.param("app!=web", False, id="not-equals-same-value"),
        pytest.param("missing!=x", True, id="not-equals-absent-key-matches"),
        pytest.param("tier in (front,back)", True, id="in"),
        pytest.param("tier in (back)", False, id="in-other"),
        pytest.param("missing in (a)", False, id="in-absent-key"),
        pytest.param("env notin (dev,test)", True, id="notin"),
        pytest.param("env notin (prod)", False, id="notin-same"),
        pytest.param("missing notin (a)", True, id="notin-absent-key-matches"),
        pytest.param("app", True, id="exists"),
        pytest.param("missing", False, id="exists-absent"),
        pytest.param("!missing", True, id="does-not-exist"),
        pytest.param("!app", False, id="does-not-exist-present"),
        pytest.param("cores>4", True, id="gt"),
        pytest.param("cores>8", False, id="gt-equal-is-not-greater"),
        pytest.param("cores<9", True, id="lt"),
        pytest.param("name>1", False, id="gt-non-integer-label-never-matches"),
        pytest.param("name<1", False, id="lt-non-integer-label-never-matches"),
        pytest.param("missing>1", False, id="gt-absent-key"),
        pytest.param("app=web,tier in (front),!missing,env", True, id="and-all-hold"),
        pytest.param("app=web,tier=back", False, id="and-one-fails"),
        pytest.param(" app = web , tier  in ( front , back ) ", True, id="whitespace"),
        pytest.param("empty=", False, id="equals-empty-value-absent"),
    ],
)
def test_selector_string_matches(text: str, expected: bool) -> None:
    assert parse_selector(text).matches(LABELS) is expected


def test_equals_empty_value_matches_empty_label() -> None:
    assert parse_selector("a=").matches({"a": ""})
    assert not parse_selector("a=").matches({"a": "b"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a in (b", "found end of string, expected ',' or ')'", id="unclosed-set"),
        pytest.param("a in b", "found 'b', expected '('", id="set-without-paren"),
        pytest.param("a in ()", "found ')', expected a label value", id="empty-set"),
        pytest.param("a in (b,)", "found ')', expected a label value", id="trailing-comma-in-set"),
        pytest.param("a=b,", "found end of string, expected a label key", id="trailing-comma"),
        pytest.param(",a", "found ',', expected a label key", id="leading-comma"),
        pytest.param("a=b c", "found 'c', expected ',' or end of string", id="missing-comma"),
        pytest.param("a=(b)", "found '(', expected a label value", id="paren-as-value"),
        pytest.param("a>x", "must be an integer", id="gt-non-integer-bound"),
        pytest.param("a foo b", "expected one of =, ==, !=, in, notin", id="unknown-operator"),
        pytest.param("-a=b", "invalid label key '-a'", id="bad-key"),
        pytest.param("a=b$", "invalid label value 'b$'", id="bad-value"),
        pytest.param("!", "found end of string, expected a label key", id="bang-alone"),
        pytest.param("in=b", "found 'in', expected a label key", id="keyword-as-key"),
    ],
)
def test_selector_string_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_selector(text, path="--selector")
    (error,) = info.value.errors
    assert error.path == "--selector"
    assert message in error.message
    assert repr(text) in error.message


def test_error_names_position() -> None:
    with pytest.raises(InvalidSpec, match="at position 7"):
        parse_selector("a in (b")


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        pytest.param("b=1,a=2", "a=2,b=1", id="sorted-by-key"),
        pytest.param("a in (z,y,z)", "a in (y,z)", id="set-sorted-deduplicated"),
        pytest.param("a notin (x)", "a notin (x)", id="notin"),
        pytest.param("!a,b", "!a,b", id="exists-and-not"),
        pytest.param("a>5,b<-3", "a>5,b<-3", id="gt-lt"),
        pytest.param("a==b,c!=d", "a==b,c!=d", id="double-equals-and-not-equals"),
    ],
)
def test_selector_prints_kubectl_form(text: str, printed: str) -> None:
    assert str(parse_selector(text)) == printed


# ---- LabelSelector messages ---------------------------------------------------


def _selector(d: dict[str, object]) -> objects_pb2.LabelSelector:
    return json_format.ParseDict(d, objects_pb2.LabelSelector(), ignore_unknown_fields=False)


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        pytest.param({}, {}, True, id="empty-selects-everything"),
        pytest.param({}, {"a": "b"}, True, id="empty-selects-labelled"),
        pytest.param({"matchLabels": {"a": "b"}}, {"a": "b", "c": "d"}, True, id="match-labels"),
        pytest.param({"matchLabels": {"a": "b"}}, {"a": "c"}, False, id="match-labels-differ"),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b", "c"]}]},
            {"a": "c"},
            True,
            id="expr-in",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]},
            {},
            True,
            id="expr-notin-absent",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Exists"}]},
            {"a": ""},
            True,
            id="expr-exists-empty-value",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]},
            {"a": "x"},
            False,
            id="expr-does-not-exist",
        ),
        pytest.param(
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}],
            },
            {"app": "web", "tier": "back"},
            False,
            id="labels-and-expressions-anded",
        ),
    ],
)
def test_label_selector_message(
    selector: dict[str, object], labels: dict[str, str], expected: bool
) -> None:
    assert selector_from_proto(_selector(selector)).matches(labels) is expected


def test_nil_selector_selects_nothing() -> None:
    assert selector_from_proto(None) is NOTHING
    assert not NOTHING.matches({})
    assert EVERYTHING.matches({})


@pytest.mark.parametrize(
    ("expr", "path", "message"),
    [
        pytest.param(
            {"key": "a", "operator": "In", "values": []},
            "sel.matchExpressions[0]",
            "values must be non-empty for operator In",
            id="in-without-values",
        ),
        pytest.param(
            {"key": "a", "operator": "Exists", "values": ["x"]},
            "sel.matchExpressions[0]",
            "values must be empty for operator Exists",
            id="exists-with-values",
        ),
        pytest.param(
            {"key": "a", "operator": "Gt", "values": ["1"]},
            "sel.matchExpressions[0].operator",
            "unknown operator 'Gt'",
            id="gt-not-allowed-in-label-selectors",
        ),
        pytest.param(
            {"key": "", "operator": "Exists"},
            "sel.matchExpressions[0]",
            "invalid label key ''",
            id="empty-key",
        ),
    ],
)
def test_label_selector_errors(expr: dict[str, object], path: str, message: str) -> None:
    sel = _selector({"matchExpressions": [expr]})
    with pytest.raises(InvalidSpec) as info:
        selector_from_proto(sel, path="sel")
    (error,) = info.value.errors
    assert error.path == path
    assert message in error.message
    # The scheduling form never raises: a malformed selector selects nothing.
    assert compile_selector(sel) is NOTHING


def test_match_labels_map() -> None:
    sel = selector_from_map({"disktype": "ssd"})
    assert sel.matches({"disktype": "ssd"})
    assert not sel.matches({"disktype": "hdd"})
    assert not sel.matches({})
    assert str(sel) == "disktype=ssd"


# ---- syntax helpers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        pytest.param("app", True, id="simple"),
        pytest.param("kubernetes.io/hostname", True, id="prefixed"),
        pytest.param("a_b.c-d", True, id="punctuation-inside"),
        pytest.param("", False, id="empty"),
        pytest.param("/a", False, id="empty-prefix"),
        pytest.param("Example.COM/a", False, id="uppercase-prefix"),
        pytest.param("a/", False, id="empty-name"),
        pytest.param("x" * 64, False, id="name-too-long"),
        pytest.param("-a", False, id="leading-dash"),
    ],
)
def test_label_key_syntax(key: str, ok: bool) -> None:
    assert (label_key_error(key) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("", True, id="empty"),
        pytest.param("e2e-az1", True, id="simple"),
        pytest.param("a b", False, id="space"),
        pytest.param("v" * 64, False, id="too-long"),
    ],
)
def test_label_value_syntax(value: str, ok: bool) -> None:
    assert (label_value_error(value) is None) is ok


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("42", 42, id="plain"),
        pytest.param("-7", -7, id="negative"),
        pytest.param("+7", 7, id="plus"),
        pytest.param(" 7", None, id="space"),
        pytest.param("1_000", None, id="underscore"),
        pytest.param("3.5", None, id="float"),
        pytest.param(str(2**63), None, id="overflow"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_int64_is_go_strict(text: str, value: int | None) -> None:
    assert parse_int64(text) == value


# ---- properties -----------------------------------------------------------------

_names = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,6}[a-z0-9])?", fullmatch=True)
_prefixes = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_keys = st.one_of(_names, st.builds(lambda p, n: f"{p}.io/{n}", _prefixes, _names))
_requirements = st.one_of(
    st.builds(
        lambda k, op, vs: requirement(k, op, vs),
        _keys,
        st.sampled_from([Operator.IN, Operator.NOT_IN]),
        st.lists(_names, min_size=1, max_size=3),
    ),
    st.builds(
        lambda k, op: requirement(k, op),
        _keys,
        st.sampled_from([Operator.EXISTS, Operator.DOES_NOT_EXIST]),
    ),
    st.builds(
        lambda k, op, v: requirement(k, op, [v]),
        _keys,
        st.sampled_from([Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS]),
        st.one_of(st.just(""), _names),
    ),
    st.builds(
        lambda k, op, v: requirement(k, op, [str(v)]),
        _keys,
        st.sampled_from([Operator.GT, Operator.LT]),
        st.integers(-(2**63), 2**63 - 1),
    ),
)


@given(st.lists(_requirements, max_size=5))
def test_print_parse_round_trip(reqs: list[Requirement]) -> None:
    sel = Selector(tuple(sorted(reqs, key=lambda r: r.key)))
    assert parse_selector(str(sel)) == sel


@given(
    key=_keys,
    values=st.lists(_names, min_size=1, max_size=3),
    labels=st.dictionaries(_keys, st.one_of(st.just(""), _names), max_size=4),
    value=_names,
)
def test_in_and_notin_are_complements_when_key_present(
    key: str, values: list[str], labels: dict[str, str], value: str
) -> None:
    labels = {**labels, key: value}
    is_in = requirement(key, "In", values).matches(labels)
    not_in = requirement(key, "NotIn", values).matches(labels)
    assert is_in != not_in


def test_describe_for_reasons() -> None:
    sel = parse_selector("a==b,c!=d,e in (f,g),f notin (x),g,!h,n>3")
    assert sel.describe() == "a==b, c!=d, e In [f g], f NotIn [x], g Exists, h DoesNotExist, n>3"
    assert NOTHING.describe() == "<nil selector>"
    assert EVERYTHING.describe() == "<everything>"
