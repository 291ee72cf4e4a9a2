"""clean_paragraphs and split_metadata_lines: remove furniture, repair breaks, never invent text."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.extract.clean import clean_paragraphs, split_metadata_lines

STORY = "近年来，徐州牢固树立“工业立市、产业强市”战略目标，加快培育形成若干具有徐州特色的创新产业集群。"


def test_it_drops_page_furniture() -> None:
    furniture = [
        "分享到：微信 微博 QQ空间",
        "打印本页 关闭窗口",
        "【字体：大 中 小】",
        "字号：默认 小 大",
        "扫一扫在手机打开当前页",
        "您所在的位置：首页 > 徐州要闻",
        "上一篇：徐州召开全市项目建设推进会",
        "下一篇",
        "相关阅读",
        "点赞",
        "128",
        "(资料图片仅供参考)",
        "原文地址：http://www.xz.gov.cn/art/2024/1/1/art_1_1.html",
    ]
    assert clean_paragraphs([*furniture, STORY]) == [STORY]


def test_everything_from_the_footer_on_is_dropped() -> None:
    paragraphs = [STORY, "版权所有：徐州市人民政府办公室", "网站标识码：3203000001", "苏ICP备05009005号"]
    assert clean_paragraphs(paragraphs) == [STORY]


def test_a_sentence_that_mentions_copyright_is_kept() -> None:
    sentence = (
        "徐州市版权局表示，版权所有者的合法权益受法律保护，今年已查处侵权案件十余起，有力维护了市场秩序。"
    )
    assert clean_paragraphs([sentence]) == [sentence]


def test_it_drops_captions_and_bylines() -> None:
    paragraphs = [
        "全市高质量发展大会会议现场 徐州市委宣传部供图",
        "徐州经开区全览图 通讯员供图",
        "徐州港双楼作业区 郑舟 摄",
        "□ 本报记者 张 涛",
        "记者 王晓明 通讯员 李华",
        STORY,
    ]
    assert clean_paragraphs(paragraphs) == [STORY]


def test_the_dateline_prefix_goes_but_the_story_stays() -> None:
    cleaned = clean_paragraphs(["本报讯（记者 李刚）自8月以来，徐州市人社局联合市民政局开展就业援助。"])
    assert cleaned == ["自8月以来，徐州市人社局联合市民政局开展就业援助。"]


def test_a_paragraph_broken_by_a_page_break_is_joined() -> None:
    cleaned = clean_paragraphs(
        ["三要在建设教育文化中心上下更大功夫。徐州拥有12所高校、近20", "万大学生，要更好地推进科教兴市战略。"]
    )
    assert cleaned == [
        "三要在建设教育文化中心上下更大功夫。徐州拥有12所高校、近20万大学生，要更好地推进科教兴市战略。"
    ]


def test_a_heading_is_not_joined_with_the_next_paragraph() -> None:
    paragraphs = ["今年从五方面入手抓落实", STORY]
    assert clean_paragraphs(paragraphs) == paragraphs


def test_repeated_paragraphs_and_fragments_are_dropped() -> None:
    fragment = "加快培育形成若干具有徐州特色的创新产业集群。"
    assert clean_paragraphs([STORY, fragment, STORY]) == [STORY]


def test_spaces_between_cjk_characters_are_removed_but_latin_words_keep_theirs() -> None:
    cleaned = clean_paragraphs(
        ["全景式呈现徐州重点产业发展现状,为客商选择 徐州投资兴业提供 Smart City 方案。"]
    )
    assert cleaned == ["全景式呈现徐州重点产业发展现状,为客商选择徐州投资兴业提供 Smart City 方案。"]


def test_split_metadata_lines_pulls_labelled_lines_into_fields() -> None:
    body, fields = split_metadata_lines(
        [
            "时间：2024-03-12 10:30 来源：徐州市工信局 作者：王晓明",
            STORY,
            "（责任编辑：李娜）",
            "原标题：徐州工程机械集群再获殊荣",
            "原文地址：http://www.xz.gov.cn/art/1.html",
        ]
    )
    assert body == [STORY]
    assert fields == {
        "time": "2024-03-12 10:30",
        "source": "徐州市工信局",
        "author": "王晓明",
        "editor": "李娜",
        "original_title": "徐州工程机械集群再获殊荣",
        "original_url": "http://www.xz.gov.cn/art/1.html",
    }


def test_a_sentence_that_starts_like_a_label_stays_in_the_body() -> None:
    sentence = "来源：记者从市统计局获悉，" + STORY * 3
    body, fields = split_metadata_lines([sentence])
    assert body == [sentence]
    assert fields == {}


def _chars(text: str) -> set[str]:
    return {ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace()}


_PARA = st.lists(
    st.one_of(
        st.text(
            alphabet="徐州产业集群项目，。、本报讯记者（）供图摄来源：责任编辑 分享到打印版权所有0123456789ab",
            max_size=60,
        ),
        st.text(max_size=40),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(_PARA)
def test_cleaning_never_invents_text(paragraphs: list[str]) -> None:
    cleaned = clean_paragraphs(paragraphs)
    assert _chars("".join(cleaned)) <= _chars("".join(paragraphs))
    body, fields = split_metadata_lines(paragraphs)
    assert body == [p for p in paragraphs if p in body]
