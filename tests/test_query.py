"""Watched-keyword queries: syntax, errors that point at the problem, matching on normalized text."""

from __future__ import annotations

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.query import (
    And,
    Not,
    Or,
    Query,
    QueryError,
    Term,
    has_positive,
    is_bare_term,
    normalize_key,
    parse_query,
    simplify,
)

S2T = opencc.OpenCC("s2t")


def matches(query: str, title: str, text: str = "") -> bool:
    return parse_query(query).matches(title, text).matched


def test_a_space_is_and_a_bar_is_or_and_and_binds_tighter():
    q = parse_query("徐工 起重机 | 卡特彼勒")
    assert q.root == Or((And((Term("徐工"), Term("起重机"))), Term("卡特彼勒")))
    assert matches("徐工 起重机 | 卡特彼勒", "卡特彼勒扩产")
    assert not matches("徐工 起重机 | 卡特彼勒", "徐工挖掘机出口")


def test_parentheses_phrases_and_exclusions():
    q = parse_query('(光伏 | 储能) 徐州 -"招聘信息" -(演唱会 | 马拉松)')
    assert q.root == And(
        (
            Or((Term("光伏"), Term("储能"))),
            Term("徐州"),
            Not(Term("招聘信息", phrase=True)),
            Not(Or((Term("演唱会"), Term("马拉松")))),
        )
    )
    assert str(q) == '(光伏 | 储能) 徐州 -"招聘信息" -(演唱会 | 马拉松)'


def test_full_width_operators_work_like_ascii_ones():
    assert parse_query("（光伏｜储能） “徐州”").root == parse_query('(光伏 | 储能) "徐州"').root


def test_exclusion_works_on_simplified_and_traditional_pages():
    query = "徐工 -招聘"
    assert matches(query, "徐工起重机发往中东")
    assert matches(query, S2T.convert("徐工起重机发往中东"))
    assert not matches(query, "徐工集团2024年校园招聘")
    assert not matches(query, S2T.convert("徐工集团2024年校园招聘"))  # 徐工集團…招聘
    assert not matches(query, "徐工新品发布", "文末附徐工招聘信息")


def test_a_traditional_query_matches_simplified_text():
    assert matches("徐工 起重機", "徐工起重机出口")


def test_a_term_matches_its_aliases_but_a_phrase_does_not():
    assert matches("徐工", "XCMG unveils a new crane")
    assert matches("徐工", "徐州工程机械集团召开年会")
    assert not matches('"徐工"', "XCMG unveils a new crane")
    result = parse_query("徐工").matches("", "XCMG unveils a new crane")
    assert [(h.term, h.matched) for h in result.hits] == [("徐工", "xcmg")]


def test_latin_terms_ignore_case_and_match_whole_words():
    assert matches("topcon", "TOPCon电池量产")
    assert matches("BYD", "byd opens a plant")
    assert not matches("ic", "a basic question")


def test_hits_carry_a_snippet_of_the_display_text():
    title = S2T.convert("徐工起重機發往中東")
    result = parse_query("起重机").matches(title, "")
    [hit] = result.hits
    assert "起重機" in hit.snippet and hit.matched == "起重机"


def test_a_hit_inside_a_longer_alias_is_reported_once():
    result = parse_query("徐工").matches("徐工集团发布新品", "")
    assert [(h.matched, h.start) for h in result.hits] == [("徐工集团", 0)]


def test_no_hits_when_the_query_does_not_match():
    assert parse_query("徐工 -招聘").matches("徐工招聘", "").hits == []


@pytest.mark.parametrize(
    ("source", "reason", "position"),
    [
        ("", "empty query", 0),
        ("   ", "empty query", 0),
        ("(徐工 | 卡特", "unclosed parenthesis", 0),
        ("徐工 )", "unmatched closing parenthesis", 3),
        ('徐工 "起重机', "unclosed quote", 3),
        ("徐工 |", "expected a term after '|'", 4),
        ("| 徐工", "expected a term", 0),
        ("徐工 ()", "empty parentheses", 3),
        ("徐工 -", "'-' must be followed by a term, a phrase or a group", 3),
        ('徐工 ""', "empty phrase", 3),
        ("-招聘", "the query only excludes; add a term to look for", 0),
    ],
)
def test_bad_queries_are_refused_with_a_position(source, reason, position):
    with pytest.raises(QueryError) as err:
        parse_query(source)
    assert err.value.reason == reason
    assert err.value.position == position
    assert str(err.value).startswith(f"{reason} at {position}:\n  {source}\n")


def test_the_error_message_points_at_the_problem():
    with pytest.raises(QueryError) as err:
        parse_query("(徐工 | 卡特")
    assert str(err.value) == "unclosed parenthesis at 0:\n  (徐工 | 卡特\n  ^"
    with pytest.raises(QueryError) as err:
        parse_query("徐工 )")
    # The caret accounts for double-width CJK characters.
    assert str(err.value).splitlines()[-1] == "  " + " " * 5 + "^"


def test_queries_compare_by_structure():
    assert parse_query("a  b|c") == parse_query("(a b) | c")
    assert parse_query("a b") != parse_query("a | b")


# ---------------------------------------------------------------------------------------------- properties

_bare = st.text(
    alphabet=st.sampled_from(list("徐工光伏储能起重机abcXYZ019-_.&+#中國")), min_size=1, max_size=6
).filter(is_bare_term)
# A phrase that normalizes to nothing (e.g. "(a)", which reads as a pinyin gloss) is refused by the parser.
_phrase = st.text(alphabet=st.sampled_from(list('徐工 光伏"\\a-()|b')), min_size=1, max_size=8).filter(
    lambda s: s.strip() and any(ch.isalnum() for ch in s) and normalize_key(s)
)
_terms = st.one_of(_bare.map(Term), _phrase.map(lambda s: Term(s, phrase=True)))


def _trees(children):
    return st.one_of(
        children.map(Not),
        st.lists(children, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(children, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
    )


_nodes = st.recursive(_terms, _trees, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_nodes)
def test_rendering_and_parsing_round_trip(node):
    node = simplify(node)
    if not has_positive(node):
        node = And((Term("徐州"), node)) if not isinstance(node, And) else And((Term("徐州"), *node.children))
    rendered = str(node)
    parsed = parse_query(rendered)
    assert parsed.root == node
    assert str(parsed) == rendered


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_parsing_arbitrary_text_raises_nothing_but_query_error(source):
    try:
        query = parse_query(source)
    except QueryError as err:
        assert 0 <= err.position <= len(source)
        return
    assert isinstance(query, Query)
    assert parse_query(str(query)) == query
    query.matches(source, source)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('徐工 -|()"“”（）｜招聘a')), max_size=20))
def test_parsing_operator_soup_raises_nothing_but_query_error(source):
    try:
        parse_query(source)
    except QueryError as err:
        assert 0 <= err.position <= len(source)
