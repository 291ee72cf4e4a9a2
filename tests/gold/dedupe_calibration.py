"""Build the dedupe calibration set: reposts of the seed articles and of hand-written articles under realistic
transformations, plus hard negatives.  Deterministic (fixed random seed), so the jsonl can be regenerated:

    .venv/bin/python -m tests.gold.dedupe_calibration   # writes tests/gold/dedupe_calibration.jsonl

Each line: {"id", "role": "base"|"probe", "transform", "title", "text", "expect": new|duplicate|update,
"of": the base or seed id it copies (null for new), "new_paragraphs": [line indexes] for updates}.
Bases are stored in order (after the seeds); probes are checked one by one against that index, read-only.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import opencc

from tests.gold.dedupe_articles import BASES, GENERIC_UPDATES, SAME_EVENT, UPDATES

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "dedupe_calibration.jsonl"

HEADERS = [
    [
        "首页 > 新闻中心 > 徐州要闻",
        "【字体：大 中 小】",
        "发布时间：2024-03-18 09:12:45 来源：徐州日报 浏览次数：1024",
    ],
    ["您所在的位置：首页>>地方动态", "时间：2024-03-18 来源：中国江苏网", "分享到："],
    ["当前位置：首页 > 资讯 > 产业", "2024年03月19日 08:30  作者：本网编辑"],
    ["徐州圈 | 本地资讯", "阅读数：3562"],
]
FOOTERS = [
    [
        "分享到：微信 微博 QQ空间",
        "打印本页 关闭窗口",
        "相关阅读：",
        "上一篇：徐州召开全市重点工作推进会",
        "主办单位：徐州市人民政府办公室 网站标识码：3203000001",
    ],
    ["责任编辑：王晓燕", "版权所有 © 中国江苏网 苏ICP备05004003号"],
    ["扫一扫在手机打开当前页", "【我要纠错】【打印本页】【关闭窗口】"],
    ["(责编：李明、刘畅)", "推荐阅读"],
]
REPOST_OPENERS = [
    [
        "原标题：{title}",
        "来源：徐州日报",
        "原文地址：http://szb.cnxz.com.cn/xzrb/pc/con/202403/18/content_123456.html",
    ],
    ["本文转自：徐州发布", "作者：徐州融媒记者"],
    ["【来源：中国江苏网】", "原文链接：https://jsnews.jschina.com.cn/xz/a/202403/t20240318_3372812.shtml"],
    ["来源：徐州市人民政府网站", "编辑：张敏"],
]
REPOST_CLOSERS = [
    ["责任编辑：赵磊", "审核：孙强"],
    ["（来源：徐州日报）"],
    ["文章来源：徐州市工业和信息化局", "校对：陈静"],
    [],
]
SPAM = [
    "【澳门新葡京 www.xpj8888.com】",
    "<真人百家乐 bjl99.cc>",
    "（娱乐城注册送彩金）",
    "www.hg0088.vip",
    "【代开发票 138-1234-5678】",
]
SPAM_LINES = ["澳门银河娱乐城 www.yh888.com 注册即送彩金", "网上赌场 真人视讯 百家乐 www.am777.cc"]
SYNONYMS = [
    ("推进", "推动"),
    ("加快", "加速"),
    ("积极", "主动"),
    ("目前", "当前"),
    ("今年", "本年度"),
    ("重点", "主要"),
    ("表示", "说"),
    ("介绍", "说"),
    ("持续", "不断"),
    ("打造", "建设"),
    ("企业", "公司"),
    ("进一步", "更加"),
    ("同比增长", "比上年同期增长"),
    ("近年来", "这几年"),
    ("据了解", "据悉"),
    ("负责人", "负责同志"),
]
PINYIN = {
    "发展": "fā zhǎn",
    "经济": "jīng jì",
    "产业": "chǎn yè",
    "徐州": "xú zhōu",
    "项目": "xiàng mù",
    "企业": "qǐ yè",
    "建设": "jiàn shè",
    "集群": "jí qún",
    "创新": "chuàng xīn",
    "投资": "tóu zī",
    "工业": "gōng yè",
    "科技": "kē jì",
    "市场": "shì chǎng",
    "服务": "fú wù",
    "生产": "shēng chǎn",
    "推动": "tuī dòng",
    "加快": "jiā kuài",
    "质量": "zhì liàng",
    "招商": "zhāo shāng",
    "高新": "gāo xīn",
    "工程": "gōng chéng",
    "机械": "jī xiè",
    "能源": "néng yuán",
    "材料": "cái liào",
    "数字": "shù zì",
    "健康": "jiàn kāng",
}
BOILERPLATE_TOP = [
    "欢迎访问徐州新闻网，本网是徐州市委宣传部主管、徐州报业传媒集团主办的徐州地区重点新闻网站，全天候发布徐州本地权威资讯，"
    "打造徐州人自己的网上家园。",
]
BOILERPLATE_BOTTOM = [
    "本网拥有此作品的版权，未经许可，任何单位和个人不得转载、复制或以其他方式使用，违者本网将依法追究其法律责任。",
    "新闻热线：0516-85698000，欢迎广大读者提供新闻线索，一经采用，本网将给予相应报酬。",
]
BOILERPLATE_BASES = {"medical_park", "steel_upgrade", "datacenter", "pizhou_materials", "safety_expo"}
SHORT_NEGATIVES = [
    (
        "徐州召开全市防汛防旱工作会议",
        [
            "4月28日，全市防汛防旱工作会议召开，会议总结去年防汛工作，部署今年防汛防旱重点任务，要求各地各部门立足防大汛、抗大旱，扎实做好隐患排查和物资储备。"
        ],
    ),
    (
        "徐州地铁6号线一期工程全线贯通",
        [
            "近日，徐州地铁6号线一期工程最后一个盾构区间顺利贯通，标志着该线路全线隧道贯通，工程转入轨道铺设和机电安装阶段，预计明年底开通试运营。"
        ],
    ),
    (
        "云龙湖景区举办春季花展",
        [
            "春暖花开，云龙湖景区第十届春季花展日前开幕，展出郁金香、樱花、海棠等花卉50余个品种，花展将持续至4月底，市民游客可免费入园观赏。"
        ],
    ),
]


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def add_glosses(text: str, rng: random.Random) -> str:
    """Traditional text with pinyin glosses after some words, in the forms mirrors use: 發(fā)展, 經濟（jīng jì）."""
    out = text
    for word, py in PINYIN.items():
        trad = to_traditional(word)
        if trad not in out or rng.random() < 0.3:
            continue
        style = rng.randrange(3)
        if style == 0:  # inside the word, after its first character
            syll = py.split()[0]
            repl = f"{trad[0]}({syll}){trad[1:]}"
        elif style == 1:
            repl = f"{trad}({py})"
        else:
            repl = f"{trad}（{py.replace(' ', '')}）"
        out = out.replace(trad, repl, rng.randint(1, 3))
    return out


def synonym_edit(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Light edits: a few synonym swaps and one sentence dropped from the longest paragraph."""
    paras = list(paragraphs)
    swaps = rng.sample(SYNONYMS, k=min(6, len(SYNONYMS)))
    paras = [_swap_some(p, swaps, rng) for p in paras]
    longest = max(range(len(paras)), key=lambda i: len(paras[i]))
    sentences = re.findall(r"[^。！？]+[。！？]?", paras[longest])
    if len(sentences) > 2:
        del sentences[rng.randrange(1, len(sentences))]
        paras[longest] = "".join(sentences)
    return paras


def _swap_some(text: str, swaps: list[tuple[str, str]], rng: random.Random) -> str:
    for a, b in swaps:
        if a in text and rng.random() < 0.7:
            text = text.replace(a, b, 1)
    return text


def inject_spam(paragraphs: list[str], rng: random.Random, *, line: bool = True) -> list[str]:
    """Spam anchors injected mid-sentence (and a spam line), as link farms do."""
    out = []
    for p in paragraphs:
        if len(p) > 30 and rng.random() < 0.7:
            cut = rng.randrange(10, len(p) - 10)
            p = p[:cut] + rng.choice(SPAM) + p[cut:]
        out.append(p)
    if line:
        out.insert(rng.randrange(1, len(out) + 1), rng.choice(SPAM_LINES))
    return out


def truncate(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Keep the first 55–75% of the text, cut mid-paragraph, with a 'read more' tail."""
    total = sum(len(p) for p in paragraphs)
    keep = int(total * rng.uniform(0.55, 0.75))
    out: list[str] = []
    for p in paragraphs:
        if keep <= 0:
            break
        out.append(p[:keep] if len(p) > keep else p)
        keep -= len(p)
    return [*out, rng.choice(["点击阅读全文", "（未完待续）", "查看原文"])]


def excerpt_rewrapped(paragraphs: list[str], rng: random.Random) -> list[str]:
    """A portal's excerpt: the first ~35% of the text (at least a few sentences), its paragraphs re-wrapped —
    neighbours joined, long ones split at a sentence end — as reposting editors and page-break repairs do."""
    total = sum(len(p) for p in paragraphs)
    keep = max(int(total * rng.uniform(0.3, 0.4)), 320)
    text = "".join(paragraphs)[:keep]
    cut = max(text.rfind("。"), text.rfind("；"))
    return rewrap([text[: cut + 1] if cut > 0 else text], rng, longest=3)


def rewrap(paragraphs: list[str], rng: random.Random, *, longest: int) -> list[str]:
    """Re-paragraph a text as reposts do: split at sentence ends, then join runs of 1..`longest` neighbours."""
    sentences = [s for p in paragraphs for s in re.findall(r"[^。！？；]+[。！？；]?", p)]
    out: list[str] = []
    while sentences:
        n = rng.randint(1, longest)
        out.append("".join(sentences[:n]))
        sentences = sentences[n:]
    return out


def wrap_site(paragraphs: list[str], rng: random.Random) -> list[str]:
    return [*rng.choice(HEADERS), *paragraphs, *rng.choice(FOOTERS)]


def repost_lines(title: str, paragraphs: list[str], rng: random.Random) -> list[str]:
    opener = [line.format(title=title) for line in rng.choice(REPOST_OPENERS)]
    return [*opener, *paragraphs, *rng.choice(REPOST_CLOSERS)]


def with_boilerplate(paragraphs: list[str]) -> list[str]:
    return [*BOILERPLATE_TOP, *paragraphs, *BOILERPLATE_BOTTOM]


def add_update(key: str, paragraphs: list[str], rng: random.Random) -> tuple[list[str], list[int]]:
    """Insert a follow-up paragraph (the base's own, or a generic one) at the end or before the last paragraph."""
    extra = UPDATES.get(key) or rng.choice(GENERIC_UPDATES).format(
        n=rng.randint(5, 90), d=rng.randint(2, 28), p=round(rng.uniform(5, 12), 1)
    )
    at = len(paragraphs) if rng.random() < 0.6 else max(1, len(paragraphs) - 1)
    out = [*paragraphs[:at], extra, *paragraphs[at:]]
    return out, [at]


def seed_articles() -> list[tuple[str, str, list[str]]]:
    from ingest.extract.split import split_seed_document

    out = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        for seed in split_seed_document(path.read_text(encoding="utf-8")):
            out.append((f"{path.stem}#{seed.index}", seed.title, list(seed.paragraphs)))
    return out


def build_items() -> list[dict[str, object]]:
    rng = random.Random(343)
    items: list[dict[str, object]] = []

    def probe(
        transform: str,
        of: str | None,
        title: str,
        paras: list[str],
        expect: str,
        new: list[int] | None = None,
    ) -> None:
        items.append(
            {
                "id": f"{transform}:{of or title[:12]}",
                "role": "probe",
                "transform": transform,
                "title": title,
                "text": "\n".join(paras),
                "expect": expect,
                "of": of,
                "new_paragraphs": new or [],
            }
        )

    originals: list[tuple[str, str, list[str]]] = []
    for key, (title, paras) in BASES.items():
        stored = with_boilerplate(paras) if key in BOILERPLATE_BASES else paras
        items.append(
            {
                "id": f"base:{key}",
                "role": "base",
                "transform": "base",
                "title": title,
                "text": "\n".join(stored),
                "expect": "new",
                "of": None,
                "new_paragraphs": [],
            }
        )
        originals.append((f"base:{key}", title, paras))
    originals = seed_articles() + originals

    transforms: dict[str, Callable[[str, str, list[str]], list[str]]] = {
        "header_footer": lambda _k, _t, p: wrap_site(p, rng),
        "repost_lines": lambda _k, t, p: repost_lines(t, p, rng),
        "traditional": lambda _k, _t, p: [to_traditional(x) for x in p],
        "traditional_gloss": lambda _k, _t, p: [add_glosses(to_traditional(x), rng) for x in p],
        "truncated": lambda _k, _t, p: truncate(p, rng),
        "excerpt_rewrapped": lambda _k, _t, p: excerpt_rewrapped(p, rng),
        "spam_links": lambda _k, _t, p: inject_spam(p, rng),
        "light_edit": lambda _k, _t, p: synonym_edit(p, rng),
        "combined": lambda _k, t, p: wrap_site(
            [add_glosses(to_traditional(x), rng) for x in inject_spam(synonym_edit(p, rng), rng, line=False)],
            rng,
        ),
    }
    for of, title, paras in originals:
        for name, fn in transforms.items():
            probe(name, of, title, fn(of, title, paras), "duplicate")
        key = of.removeprefix("base:")
        updated, new = add_update(key, paras, rng)
        probe("update", of, title, updated, "update", new)
        trad = [to_traditional(x) for x in updated]
        probe("update_traditional", of, title, wrap_site(trad, rng), "update")
    # Hard negatives.
    for title, paras in SAME_EVENT.values():
        probe("same_event", None, title, paras, "new")
        probe("shared_boilerplate", None, title, with_boilerplate(paras), "new")
    for title, paras in SHORT_NEGATIVES:
        probe("shared_boilerplate", None, title, with_boilerplate(paras), "new")
    _fix_update_indexes(items)
    return items


def _fix_update_indexes(items: list[dict[str, object]]) -> None:
    """Recompute new_paragraphs as indexes of non-empty lines, which is what `dedupe check` sees."""
    for item in items:
        if item["expect"] != "update":
            continue
        base_text = "\n".join(_original_paragraphs(str(item["of"])))
        known = {to_traditional(p) for p in base_text.splitlines()} | set(base_text.splitlines())
        lines = [ln for ln in str(item["text"]).splitlines() if ln.strip()]
        updates = set(UPDATES.values()) | {to_traditional(u) for u in UPDATES.values()}
        item["new_paragraphs"] = [
            i for i, ln in enumerate(lines) if ln not in known and (ln in updates or _is_generic_update(ln))
        ]


def _is_generic_update(line: str) -> bool:
    return any(
        line.startswith(s) or line.startswith(to_traditional(s))
        for s in ("记者从有关部门", "另据最新消息", "更新：据市统计局")
    )


def _original_paragraphs(of: str) -> list[str]:
    if of.startswith("base:"):
        return BASES[of.removeprefix("base:")][1]
    return next(p for i, _t, p in seed_articles() if i == of)


def load(path: Path = OUT) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    items = build_items()
    OUT.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    print(f"wrote {len(items)} items to {OUT}")  # noqa: T201


if __name__ == "__main__":
    main()
