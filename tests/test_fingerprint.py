"""Fingerprints: the matching form drops repost furniture and spam, and is stable and invariant."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import opencc
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.dedupe.fingerprint import (
    MAX_CHUNK,
    MIN_CHUNK_KEY,
    NUM_PERM,
    chunk_hash,
    clean_paragraph,
    fingerprint,
    is_repost_furniture,
    minhash,
    paragraph_key,
    sentence_keys,
    shingle_set,
    similarity,
    strip_spam,
)
from tests.gold.dedupe_articles import BASES, SAME_EVENT
from tests.gold.dedupe_calibration import rewrap

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [p for _t, ps in [*BASES.values(), *SAME_EVENT.values()] for p in ps]
S2T = opencc.OpenCC("s2t")


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_repost_lines_are_furniture_and_sentences_are_not() -> None:
    for line in [
        "来源：徐州日报",
        "原文地址：http://x.cn/a.html",
        "责任编辑：王五",
        "编辑：张敏",
        "原标题：徐州开会",
        "【来源：中国江苏网】",
        "本文转自：徐州发布",
        "分享到：微信 微博",
        "版权所有 © 中国江苏网",
    ]:
        assert is_repost_furniture(line), line
    assert not is_repost_furniture("据徐州日报报道，来源于企业的订单持续增长，全年产值同比增长10%。")


def test_furniture_lines_do_not_change_the_fingerprint() -> None:
    _title, paras = BASES["xcmg_loader"]
    wrapped = ["来源：徐州日报", "原文地址：http://szb.cnxz.com.cn/a.html", *paras, "责任编辑：赵磊"]
    assert fingerprint(wrapped).text_hash == fingerprint(paras).text_hash


def test_spam_injected_mid_sentence_is_removed() -> None:
    clean = "徐工新能源装载机批量发往东南亚"
    assert strip_spam("徐工新能源【澳门新葡京 www.xpj8888.com】装载机批量发往东南亚") == clean
    assert paragraph_key("徐工新能源<真人百家乐 bjl99.cc>装载机批量发往东南亚") == paragraph_key(clean)


def test_pinyin_glosses_and_traditional_characters_match_the_simplified_text() -> None:
    assert paragraph_key("徐州產業發(fā)展經濟（jīngjì）") == paragraph_key("徐州产业发展经济")


def test_signature_estimates_jaccard_similarity() -> None:
    a = "".join(BASES["xcmg_loader"][1])
    b = a[: len(a) // 2] + "".join(BASES["tongshan_pv"][1])[: len(a) // 2]
    sa, sb = shingle_set(a), shingle_set(b)
    true = len(sa & sb) / len(sa | sb)
    est = similarity(minhash(a) or [], minhash(b) or [])
    assert abs(est - true) < 0.15
    assert len(minhash(a) or []) == NUM_PERM


def test_fingerprints_are_the_same_in_another_process() -> None:
    """No salted hash anywhere: a signature computed elsewhere must match the one stored."""
    text = BASES["datacenter"][1][0]
    code = "import sys,json; from ingest.dedupe.fingerprint import fingerprint; print(json.dumps(fingerprint([sys.argv[1]]).signature))"
    out = subprocess.run(
        [sys.executable, "-c", code, text], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == fingerprint([text]).signature


def test_an_empty_text_has_no_signature() -> None:
    fp = fingerprint(["来源：徐州日报", "  "])
    assert fp.signature is None and fp.key == "" and fp.bands == []


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SENTENCES), st.randoms(use_true_random=False))
def test_fingerprint_is_invariant_under_spaces_fullwidth_and_traditional(sentence: str, rnd) -> None:  # type: ignore[no-untyped-def]
    base = fingerprint([sentence])
    spaced = "".join(c + (" " * rnd.randint(0, 2) if rnd.random() < 0.2 else "") for c in sentence)
    for variant in (spaced, _fullwidth(sentence), S2T.convert(sentence), "\u3000" + sentence + "  "):
        fp = fingerprint([variant])
        assert fp.text_hash == base.text_hash
        assert fp.signature == base.signature


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_fingerprint_is_stable_for_any_text(text: str) -> None:
    a, b = fingerprint([text]), fingerprint([text])
    assert a == b
    if a.signature:
        assert all(0 <= v < 2**32 for v in a.signature)
        assert all(0 <= h < 2**63 for _b, h in a.bands)


def _rewrap(paragraphs: list[str], rnd) -> list[str]:  # type: ignore[no-untyped-def]
    return rewrap(paragraphs, rnd, longest=4)


ARTICLES = [paras for _t, paras in BASES.values()]


def test_sentence_keys_joined_are_the_key_and_chunks_tile_it() -> None:
    for paras in ARTICLES:
        fp = fingerprint(paras)
        assert "".join(sentence_keys("".join(clean_paragraph(p) for p in paras))) == fp.key
        assert fp.chunks[0][0] == 0 and fp.chunks[-1][1] == len(fp.key)
        assert all(a < b == c for (a, b), (c, _d) in zip(fp.chunks, fp.chunks[1:], strict=False))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ARTICLES), st.randoms(use_true_random=False))
def test_chunks_do_not_depend_on_how_the_text_is_paragraphed(paras: list[str], rnd) -> None:  # type: ignore[no-untyped-def]
    assert fingerprint(_rewrap(paras, rnd)).chunk_hashes == fingerprint(paras).chunk_hashes


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ARTICLES), st.floats(0.2, 0.9), st.randoms(use_true_random=False))
def test_an_excerpt_shares_every_chunk_of_its_original_but_its_open_end(
    paras: list[str],
    share: float,
    rnd,  # type: ignore[no-untyped-def]
) -> None:
    text = "".join(paras)
    excerpt = _rewrap([text[: int(len(text) * share)]], rnd)
    original = set(fingerprint(paras).chunk_hashes)
    fp = fingerprint(excerpt)
    # The open run at the end (at most MAX_CHUNK characters unless cut like the original's) may differ.
    whole = [fp.key[a:b] for a, b in fp.chunks if b - a >= MIN_CHUNK_KEY and b <= len(fp.key) - MAX_CHUNK]
    assert all(chunk_hash(k) in original for k in whole)


def test_chunks_are_sentence_runs_of_bounded_size() -> None:
    sizes = [b - a for paras in ARTICLES for a, b in fingerprint(paras).chunks]
    assert statistics.mean(sizes) < 120
    assert max(sizes) <= MAX_CHUNK * 2
