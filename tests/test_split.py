"""split_seed_document: the seed files split on their real structure into cleaned articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extract.split import split_seed_document

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def _split(prefix: str):
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return split_seed_document(path.read_text(encoding="utf-8"))


def test_the_newspaper_page_004_holds_four_articles_titled_by_their_headlines() -> None:
    articles = _split("004")
    assert [a.title for a in articles] == [
        "着力培育[343]创新产业集群",
        "徐州多渠道帮扶困难群体就业",
        '"徐州—青岛" 海铁联运班列首发',
        "徐州9个项目获省级体育产业专项资金",
    ]
    assert [a.index for a in articles] == [0, 1, 2, 3]
    # The dateline and byline are not body text, the stories are.
    assert articles[1].paragraphs[0].startswith("自8月以来")
    assert not any(p.startswith("本报讯") for a in articles for p in a.paragraphs)
    assert all(len(a.paragraphs) >= 2 for a in articles)


def test_seed_000_holds_two_markdown_articles() -> None:
    articles = _split("000")
    assert [a.title for a in articles] == ["徐州“新春第一会”聚焦高质量发展", "徐州经开区尽锐出征招商引资一线"]
    body = "\n".join(articles[0].paragraphs)
    assert "去年高质量发展成绩亮眼" in body  # '## ' sub-headings stay in their article, without the markup
    assert "##" not in body
    assert "供图" not in body


def test_seed_000_repairs_the_paragraph_split_by_a_page_break_and_drops_the_repeated_fragment() -> None:
    body = _split("000")[0].paragraphs
    assert any("徐州拥有12所高校、近20万大学生" in p for p in body)
    assert sum("国家可持续发展议程创新示范区获批建设" in p for p in body) == 1


@pytest.mark.parametrize(
    ("prefix", "title"), [("001", "可以,这很徐州"), ("003", "同频共振聚合力奋楫扬帆启新程")]
)
def test_single_article_seeds(prefix: str, title: str) -> None:
    articles = _split(prefix)
    assert len(articles) == 1
    assert articles[0].title == title
    assert len(articles[0].paragraphs) >= 5


def test_seed_001_loses_its_page_chrome() -> None:
    body = "\n".join(_split("001")[0].paragraphs)
    assert "您所在的位置" not in body
    assert "点赞" not in body
    assert "发布时间" not in body
    assert "来源:徐州发布" not in body


def test_seed_002_is_one_article_despite_its_many_short_lines() -> None:
    articles = _split("002")
    assert len(articles) == 1
    assert articles[0].title
    assert "(资料图片仅供参考)" not in articles[0].paragraphs


def test_an_empty_document_has_no_articles() -> None:
    assert split_seed_document("") == []
    assert split_seed_document("\n\n  \n") == []
