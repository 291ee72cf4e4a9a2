"""The 343 lexicon: loading, validation, the jieba user dictionary and the term matcher."""

from __future__ import annotations

from pathlib import Path

import jieba
import pytest

from ingest.classify.lexicon import CLUSTER_IDS, LexiconError, load_lexicon, write_jieba_userdict
from ingest.normalize import normalize_text

CONFIG = Path(__file__).resolve().parents[1] / "config" / "clusters.toml"


def terms_found(text: str) -> list[str]:
    return [m.term for m in load_lexicon().cluster_matcher.find(normalize_text(text))]


def test_it_lists_the_ten_clusters_in_343_order_with_tiers():
    lexicon = load_lexicon()
    assert tuple(c.id for c in lexicon.clusters) == CLUSTER_IDS
    assert [c.order for c in lexicon.clusters] == list(range(10))
    assert [c.tier for c in lexicon.clusters] == ["advantage"] * 3 + ["emerging"] * 4 + ["characteristic"] * 3
    assert lexicon.cluster("ic_ict").name_zh == "集成电路与ICT"
    assert lexicon.cluster("food_agri").tier_zh == "特色"


def test_every_cluster_has_names_and_weighted_terms():
    lexicon = load_lexicon()
    for cid in CLUSTER_IDS:
        kinds = {entry.kind for entry in lexicon.terms_of(cid).values()}
        assert {"name", "terms"} <= kinds, cid
        assert len(lexicon.terms_of(cid)) >= 15, cid


def test_it_knows_the_industry_vocabulary():
    lexicon = load_lexicon()
    for cid, term in [
        ("engineering_machinery", "高空作业平台"),
        ("green_energy", "topcon"),
        ("green_energy", "颗粒硅"),
        ("new_materials", "光刻胶"),
        ("digital_economy", "智改数转网联"),
        ("ic_ict", "电子级多晶硅"),
        ("health", "原料药"),
        ("safety_emergency", "安全应急装备"),
        ("steel", "特钢"),
        ("food_agri", "大蒜"),
    ]:
        assert term in lexicon.terms_of(cid), (cid, term)


def test_it_is_cached_per_path():
    assert load_lexicon() is load_lexicon(CONFIG)


def test_the_config_dir_can_come_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / "clusters.toml").write_text(CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("XZNEWS_CONFIG_DIR", str(tmp_path))
    assert load_lexicon().path == (tmp_path / "clusters.toml").resolve()


def test_a_bad_weight_names_the_file_and_the_key(tmp_path):
    bad = tmp_path / "clusters.toml"
    bad.write_text(
        CONFIG.read_text(encoding="utf-8").replace('"特钢" = 3', '"特钢" = "high"'), encoding="utf-8"
    )
    with pytest.raises(LexiconError) as err:
        load_lexicon(bad)
    assert str(bad.resolve()) in str(err.value)
    assert "clusters.steel.terms.特钢" in str(err.value)


def test_clusters_out_of_order_are_refused(tmp_path):
    text = CONFIG.read_text(encoding="utf-8").replace('id = "steel"', 'id = "iron"')
    bad = tmp_path / "clusters.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(LexiconError, match="clusters.id"):
        load_lexicon(bad)


def test_a_missing_file_or_broken_toml_is_a_lexicon_error(tmp_path):
    with pytest.raises(LexiconError, match="not found"):
        load_lexicon(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[clusters]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="invalid TOML"):
        load_lexicon(broken)


def test_the_jieba_user_dictionary_keeps_terms_whole(tmp_path):
    path = write_jieba_userdict(load_lexicon(), tmp_path / "userdict.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("颗粒硅 ") for line in lines)
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(path))
    assert "电子级多晶硅" in tokenizer.lcut("鑫华半导体生产电子级多晶硅")
    assert "智改数转网联" in tokenizer.lcut("推进智改数转网联行动")


def test_the_longest_term_wins():
    assert terms_found("弘元新材料投资建设") == ["弘元新材料"]
    assert terms_found("鑫华电子级多晶硅") == ["鑫华", "电子级多晶硅"]


def test_latin_terms_match_whole_words_in_any_case():
    assert terms_found("TOPCon和Perc") == ["topcon", "perc"]
    assert "perc" not in terms_found("growth of 5 percent")
    assert terms_found("30GWh储能") == ["gwh", "储能"]


def test_a_short_term_inside_a_longer_word_does_not_count():
    # 集中|能源: jieba cuts inside 中能, so the company 中能 is not there.
    assert "中能" not in terms_found("要集中能源保障重点项目")
    assert "中能" in terms_found("中能年产8万吨颗粒硅")
    # A name followed by its suffix is still the name.
    assert "恩华" in [m.term for m in load_lexicon().relevance_matcher.find("恩华药业")]


def test_look_alike_phrases_block_their_substrings():
    assert "钢" not in terms_found("他在弹钢琴")
    assert terms_found("开展安全生产检查") == ["安全生产"]


def test_the_fast_matcher_agrees_with_jieba_segmentation():
    matcher = load_lexicon().cluster_matcher
    text = normalize_text("徐工起重机、中能颗粒硅、鑫华半导体电子级多晶硅、恩华药业原料药和邳州大蒜")
    assert [m.term for m in matcher.find(text)] == [m.term for m in matcher.find_with_jieba(text)]


def test_aliases_form_groups():
    lexicon = load_lexicon()
    assert {"徐工", "xcmg", "徐州工程机械集团", "徐工集团"} <= set(lexicon.aliases_of("XCMG"))
    assert lexicon.aliases_of("没有别名") == ("没有别名",)


def test_fold_case_lowers_ascii_only_and_keeps_offsets():
    from ingest.classify.lexicon import fold_case

    text = "徐工XCMG与İstanbul客户签约TOPCon项目"
    folded = fold_case(text)
    assert folded == "徐工xcmg与İstanbul客户签约topcon项目"
    assert len(folded) == len(text)


def test_home_words_are_a_relevance_section_of_their_own():
    from ingest.classify.lexicon import HOME, XUZHOU

    entries = load_lexicon().relevance_entries
    assert {e.section for e in entries["我市"]} == {HOME}
    assert {e.section for e in entries["徐州"]} == {XUZHOU}


def test_industry_words_added_after_the_holdout_test_are_known():
    lexicon = load_lexicon()
    for cid, term in [
        ("engineering_machinery", "柱塞泵"),
        ("green_energy", "钙钛矿"),
        ("new_materials", "高纯石英"),
        ("digital_economy", "数据标注"),
        ("ic_ict", "外延片"),
        ("health", "胰岛素"),
        ("safety_emergency", "本安型"),
        ("steel", "中厚板"),
        ("textiles", "长丝"),
        ("food_agri", "预制菜"),
    ]:
        assert term in lexicon.terms_of(cid), (cid, term)


def test_evidence_shows_terms_as_the_lexicon_spells_them_while_matching_ignores_case():
    from ingest.classify.clusters import classify

    result = classify("协鑫topcon电池项目投产", "徐州经开区协鑫TOPCON电池项目投产，年产能10gwh，配套储能。")
    terms = dict(result.evidence["green_energy"])
    assert terms["TOPCon"] == 2 and terms["GWh"] == 1


def test_importing_the_classifier_loads_neither_jieba_nor_the_lexicon():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import ingest.classify, ingest.classify.clusters, ingest.classify.lexicon\n"
        "from ingest.classify import CLUSTER_IDS\n"
        "assert 'jieba' not in sys.modules, 'jieba imported'\n"
        "assert ingest.classify.lexicon._load_cached.cache_info().currsize == 0, 'lexicon read'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_one_tokenizer_serves_both_matchers():
    from ingest.classify.lexicon import lexicon_tokenizer

    lexicon = load_lexicon()
    assert (
        lexicon.cluster_matcher.tokenizer is lexicon.relevance_matcher.tokenizer is lexicon_tokenizer(lexicon)
    )


def _gold_texts() -> list[str]:
    import json

    gold = Path(__file__).resolve().parent / "gold"
    texts = []
    for name in ("classify.jsonl", "classify_holdout.jsonl", "classify_dev2.jsonl"):
        for line in (gold / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += [normalize_text(row["title"]), normalize_text(row["text"])]
    return texts


def test_the_cached_tokenizer_segments_the_gold_sets_token_for_token_like_a_fresh_build(
    tmp_path, monkeypatch
):
    from ingest.classify import segment
    from ingest.classify.lexicon import _cjk_words

    monkeypatch.setenv("XZNEWS_CACHE_DIR", str(tmp_path / "cache"))
    words = _cjk_words(load_lexicon())
    built, entries = segment.tokenizer_for.__wrapped__(words)
    assert len(list((tmp_path / "cache").glob("jieba-*.marshal"))) == 1

    def no_rebuild(self):
        raise AssertionError("the tokenizer was rebuilt instead of loaded from the cache")

    monkeypatch.setattr(jieba.Tokenizer, "initialize", no_rebuild)
    loaded, cached_entries = segment.tokenizer_for.__wrapped__(words)
    assert cached_entries == entries and loaded.total == built.total
    for text in _gold_texts():
        assert list(loaded.cut(text, HMM=False)) == list(built.cut(text, HMM=False)), text[:40]


def test_a_malformed_or_shared_cache_is_rebuilt_not_trusted(tmp_path, monkeypatch, caplog):
    import os

    from ingest.classify import segment
    from ingest.classify.lexicon import _cjk_words

    cache = tmp_path / "cache"
    monkeypatch.setenv("XZNEWS_CACHE_DIR", str(cache))
    words = _cjk_words(load_lexicon())[:50]
    segment.tokenizer_for.__wrapped__(words)
    (path,) = cache.glob("jieba-*.marshal")
    path.write_bytes(b"\x00not marshal")
    tokenizer, _ = segment.tokenizer_for.__wrapped__(words)
    assert "徐州" in tokenizer.FREQ and "malformed" in caplog.text
    os.chmod(cache, 0o777)
    assert segment._read(path) is None and "writable by others" in caplog.text


def test_the_reference_path_segments_each_text_of_an_article_once(monkeypatch):
    from ingest.classify.clusters import classify
    from ingest.classify.lexicon import clear_segmentation_cache, lexicon_tokenizer

    tokenizer = lexicon_tokenizer(load_lexicon())
    cuts: list[str] = []
    real_cut = type(tokenizer).cut

    def counting_cut(self, sentence, *args, **kwargs):
        cuts.append(sentence)
        return real_cut(self, sentence, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), "cut", counting_cut)
    clear_segmentation_cache()
    classify("徐工起重机出口", "徐州经开区的徐工重型发运起重机。\n项目总投资5亿元。", method="jieba")
    assert len(cuts) == 2  # the title and the body, shared by the cluster and the relevance matcher
