"""A generated CMS-shaped news site for the benches: columns of list pages and TRS-style article pages on 127.0.0.1.

The text is generated (never copied from anywhere): sentences assembled from Xuzhou industry vocabulary, so
that every article is different prose of realistic length (6–10 paragraphs, ≈ 900 characters), with what makes
deduplication work hard on real sites: a boilerplate closing paragraph shared by a third of the articles of a
site, a few per cent near-duplicates (a repost with one sentence edited and a furniture line added) and a few
per cent updates (an earlier article plus a new paragraph).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from xznews.demo_server import DemoSite

_PLACES = [
    "徐州",
    "铜山区",
    "贾汪区",
    "邳州市",
    "新沂市",
    "睢宁县",
    "沛县",
    "丰县",
    "徐州经开区",
    "高新区",
    "云龙区",
]
_FIRMS = [
    "徐工集团", "协鑫集团", "天通新材料", "鑫华半导体", "恩华药业", "万邦生化", "中能硅业", "维维集团",
    "徐州重型机械", "卡特彼勒徐州", "苏盐井神", "徐钢集团", "海伦哲", "五洋科技", "科伦药业", "博康信息",
]  # fmt: skip
_THINGS = [
    "新能源装载机", "大吨位起重机", "颗粒硅", "光伏组件", "储能电站", "电子级多晶硅", "碳化硅器件", "创新药",
    "医疗器械", "高端纺织面料", "工业互联网平台", "算力中心", "氢燃料电池", "特种合金", "矿山救援装备", "预制菜",
]  # fmt: skip
_VERBS = ["签约", "开工", "投产", "竣工", "获批", "发布", "落地", "扩产", "通过验收", "启动建设"]
_NUMS = ["12", "15", "20", "35", "48", "60", "120", "300", "1.5", "2.8", "6.4", "9.7"]
_TEMPLATES = [
    "{date}，{place}{firm}{thing}项目正式{verb}，总投资{num}亿元，预计年产值可达{num2}亿元。",
    "据了解，该项目由{firm}牵头实施，建成后将形成年产{thing}{num}万台（套）的生产能力。",
    "{place}工信部门负责人表示，将围绕{thing}产业链补链强链，推动更多配套企业在{place}集聚。",
    "今年以来，{place}累计引进{thing}相关项目{num}个，其中超十亿元项目{num2}个。",
    "{firm}相关负责人介绍，公司今年研发投入同比增长{num}%，{thing}关键技术实现自主可控。",
    "现场，{firm}与{firm2}签署战略合作协议，双方将在{thing}领域开展联合攻关。",
    "下一步，{place}将持续优化营商环境，为{thing}企业提供用地、融资和人才等要素保障。",
    "数据显示，1至{month}月，{place}规上工业增加值同比增长{num}%，{thing}产业贡献明显。",
    "项目采用数字化车间和智能物流系统，生产效率提升{num}%，单位能耗下降{num2}%。",
    "{firm}的{thing}产品已出口到{num}个国家和地区，海外订单排产至明年{month}月。",
    "业内人士认为，{place}在{thing}领域已形成从研发、制造到应用的完整链条。",
    "活动吸引了来自长三角地区的{num}家企业参加，现场达成合作意向{num2}项。",
]
# Common characters, paired at random into the names, places and details that make two real stories differ.
_CHARS = (
    "安八白百班板半办帮包保报北备本比必边变标表别宾兵并波博部才材采参策层产长场厂车成城程持出初除处川传船创"
    "春村存达大代带单当导道德灯地点电调东动都度端队对多发法番防房放飞费分丰风服福府复改干刚高告格各根工公功"
    "共构古谷固关观管光广规贵国果海汉行航好合和河核黑红宏后湖虎花华化环黄回会汇火机基集级技济加家价建江将交"
    "角教阶节杰金津进京经井景静九居局巨聚军开康科可克空口库快矿宽况扩来兰蓝朗乐雷类冷力立利连联良量林领龙楼"
    "路旅绿律马满贸美门民明模木纳南能年宁农欧盘鹏平坡普七期齐企启气千前强桥青清情庆球区渠全泉群然人仁荣融瑞"
)
BOILERPLATE = (
    "更多徐州产业发展资讯，请关注本网产业频道和官方客户端，第一时间获取权威发布的项目进展与政策解读。"
)


@dataclass
class GenArticle:
    id: int
    column: int
    title: str
    paragraphs: list[str]
    published: datetime
    kind: str  # "original" | "near" | "update"
    of: int | None = None  # the article a near-duplicate or an update copies


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_CHARS) for _ in range(rng.randint(2, 4)))


def _sentence(rng: random.Random, when: datetime) -> str:
    firms = rng.sample(_FIRMS, 2)
    # A clause of its own in most sentences: templates alone would make every story look half alike.
    lead = f"{_word(rng)}{_word(rng)}{_word(rng)}方面，"
    tail = f"{_word(rng)}{_word(rng)}{_word(rng)}{_word(rng)}。"
    return (
        lead
        + tail
        + rng.choice(_TEMPLATES).format(
            date=f"{when.month}月{when.day}日",
            place=rng.choice(_PLACES),
            firm=firms[0],
            firm2=firms[1],
            thing=rng.choice(_THINGS),
            verb=rng.choice(_VERBS),
            num=rng.choice(_NUMS) if rng.random() < 0.3 else str(rng.randint(2, 980)),
            num2=str(rng.randint(2, 980)),
            month=rng.randint(2, 11),
        )
    )


def generate(n: int, *, columns: int = 5, seed: int = 7, **kw: float) -> list[GenArticle]:
    """``n`` articles spread over ``columns`` columns, newest last."""
    return list(iter_articles(n, columns=columns, seed=seed, **kw))


def iter_articles(
    n: int, *, columns: int = 5, seed: int = 7, dup_share: float = 0.03, update_share: float = 0.03
) -> Iterator[GenArticle]:
    """The same articles one by one (bounded memory: copies are made of the last 200 only)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    recent: deque[GenArticle] = deque(maxlen=200)
    for i in range(n):
        when = now - timedelta(minutes=(n - i) * 7)
        column = i % columns
        roll = rng.random()
        if recent and roll < dup_share + update_share:
            base = rng.choice(recent)
            if roll < dup_share:
                paras = list(base.paragraphs)
                j = rng.randrange(len(paras))
                paras[j] = paras[j][:-1] + "，" + _sentence(rng, when)  # one sentence edited
                yield GenArticle(i, column, base.title, ["（转载）", *paras], when, "near", base.id)
            else:
                extra = "".join(_sentence(rng, when) for _ in range(3))
                yield GenArticle(
                    i, column, base.title + "（更新）", [*base.paragraphs, extra], when, "update", base.id
                )
            continue
        paras = [
            "".join(_sentence(rng, when) for _ in range(rng.randint(2, 3))) for _ in range(rng.randint(6, 10))
        ]
        if rng.random() < 0.33:
            paras.append(BOILERPLATE)
        firm, thing, verb = rng.choice(_FIRMS), rng.choice(_THINGS), rng.choice(_VERBS)
        article = GenArticle(
            i, column, f"{rng.choice(_PLACES)}{firm}{thing}项目{verb}（{i}）", paras, when, "original"
        )
        recent.append(article)
        yield article


def article_html(a: GenArticle) -> bytes:
    body = "".join(f"<p>{p}</p>\n" for p in a.paragraphs)
    return (
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        f"<title>{a.title}-产业网（基准）</title></head><body>"
        '<div class="nav"><a href="/">首页</a> | <a href="../index.html">产业新闻</a></div>'
        f'<div class="article"><h1 class="title">{a.title}</h1>'
        f'<div class="info"><span id="pubtime_baidu">{a.published:%Y-%m-%d %H:%M}</span> '
        '<span id="source_baidu">来源：产业网（基准）</span></div>'
        f'<div class="TRS_Editor">\n{body}</div><div id="editor_baidu">责任编辑：基准</div></div>'
        '<div class="foot">产业网（基准） 版权所有</div></body></html>'
    ).encode()


def listing_html(items: list[GenArticle]) -> bytes:
    lis = "".join(
        f'<li><a href="./art_{a.id}.html" title="{a.title}">{a.title}</a><span>{a.published:%Y-%m-%d}</span></li>\n'
        for a in sorted(items, key=lambda a: a.published, reverse=True)
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>产业新闻（基准）</title></head><body>'
        f'<ul class="list">\n{lis}</ul></body></html>'
    ).encode()


class CmsSite(DemoSite):
    """Serves the generated articles: /colN/index.html lists column N, /colN/art_ID.html is an article.

    The demo's server (xznews/demo_server.py) with generated pages instead of its folder."""

    def __init__(self, articles: list[GenArticle], columns: int) -> None:
        self.pages: dict[str, bytes] = {}
        for c in range(columns):
            self.pages[f"/col{c}/index.html"] = listing_html([a for a in articles if a.column == c])
        for a in articles:
            self.pages[f"/col{a.column}/art_{a.id}.html"] = article_html(a)
        self.columns = columns
        super().__init__(root=Path(__file__).resolve().parent / "no-such-folder")

    def page(self, path: str) -> tuple[bytes | None, str]:
        return self.pages.get(path), "text/html; charset=utf-8"

    def listing_urls(self) -> list[str]:
        return [f"{self.base_url}/col{c}/index.html" for c in range(self.columns)]

    def article_urls(self) -> list[str]:
        return [self.base_url + p for p in self.pages if "/art_" in p]

    def sources_toml(self, max_items: int) -> str:
        parts = []
        for c in range(self.columns):
            parts.append(
                f'[[sources]]\nname = "bench-col{c}"\nkind = "listpage"\nurl = "{self.base_url}/col{c}/index.html"\n'
                f'allowed_hosts = ["127.0.0.1"]\nrobots = false\nmax_items = {max_items}\nmax_pages = 1\n'
                '[sources.options]\nitem = "ul.list li"\ndate = "span"\n'
            )
        return "\n".join(parts)


def bench_config_toml(database_url: str = "") -> str:
    """xznews.toml for a bench: the loopback site allowed, no politeness delay, no retries, no robots."""
    return (
        (f'database_url = "{database_url}"\n' if database_url else "")
        + "[fetch]\nallow_private_addresses = true\nper_host_delay_s = 0\nretries = 0\nrespect_robots = false\n"
        "per_host_concurrency = 8\nmax_articles_per_run = 100000\n"
    )
