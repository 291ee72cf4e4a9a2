"""A day's digests for many subscribers, through the real dispatch path and compose-only; prints both times.

    .venv/bin/python bench/digest.py [--subscribers 10000] [--articles 200] [--backend sqlite|postgres]
    .venv/bin/python bench/digest.py --compose-only [--outbox DIR]

Whole path (the figure that counts; goal 10k in ≤ 60 s on one core): the articles, subscribers and daily
subscriptions are written to a fresh database (SQLite, or PostgreSQL in a throw-away schema from
XZNEWS_BENCH_PG), an aiosmtpd sink runs on 127.0.0.1 in its own process, and one
``alerts.dispatch.dispatch_due()`` round sends every due digest as `digest send` and the daemon do: claim,
compose, render, SMTP, record — with whatever connection handling dispatch has (at the time of writing one
SMTP connection per message).
Compose-only (printed beside it):
the day's articles and the subscriptions are built in memory (a realistic mix: 1–3 clusters or all,
a third with a keyword query from a pool of common ones, some with a sources filter, some with mentions);
each digest goes through the same steps as `digest send` (match, fold stories, group, render HTML + text,
build the MIME message) and ends in memory, or in an outbox folder with --outbox. No SMTP, no database.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine  # noqa: E402

from alerts import mail  # noqa: E402
from alerts.clusters import cluster_ids  # noqa: E402
from alerts.digest import StoryInfo, compose  # noqa: E402
from alerts.match import ArticlePool, match_articles  # noqa: E402
from alerts.render import render_digest  # noqa: E402
from core.settings import Settings  # noqa: E402
from store import init_db, make_engine, session_scope  # noqa: E402
from store.models import Article, Subscription  # noqa: E402

START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
END = START + timedelta(days=1)
SOURCES = ["xz_gov", "cnxz", "xzrb", "jschina", "xzkfq", "pzxw", "sn_gov", "tongshan"]
SUBJECTS = {
    "engineering_machinery": ["徐工集团", "卡特彼勒", "挖掘机", "起重机", "高空作业平台", "矿山机械"],
    "green_energy": ["协鑫", "颗粒硅", "光伏组件", "储能电站", "氢能", "比亚迪"],
    "new_materials": ["天通新材料", "光刻胶", "特种合金", "碳纤维", "硅材料"],
    "digital_economy": ["算力中心", "工业互联网", "数据要素", "5G基站", "智改数转"],
    "ic_ict": ["鑫华半导体", "大硅片", "封装测试", "碳化硅器件", "探针卡"],
    "health": ["恩华药业", "创新药", "医疗器械", "万邦生化", "东湖医学产业园"],
    "safety_emergency": ["安全应急装备", "矿山救援", "应急产业示范基地"],
    "steel": ["精品钢材", "特钢", "钢铁产能置换"],
    "textiles": ["高端纺织", "睢宁纺织", "功能性纤维"],
    "food_agri": ["邳州大蒜", "预制菜", "粮油加工", "肉制品"],
}
QUERIES = [
    "徐工",
    "徐工 | 卡特彼勒",
    "协鑫 | 颗粒硅",
    "储能 -招聘",
    '"光伏组件"',
    "(光伏 | 储能) 徐州",
    "恩华",
    "半导体 | 硅片",
    "算力",
    "大蒜 | 预制菜",
    "安全应急",
    "起重机 | 挖掘机",
    "氢能",
    "纺织",
    "特钢 | 钢材",
    "工业互联网 | 数据",
    "比亚迪",
    "医疗器械",
    "碳纤维 | 光刻胶",
    "经开区",
    "高新区 -招聘",
    "邳州",
    "新沂 | 沛县",
    "睢宁",
]
FILLER = (
    "会议强调，要坚持把发展经济的着力点放在实体经济上，加快建设现代化产业体系。"
    "今年以来，全市规上工业增加值同比增长8.2%，重点项目建设有序推进。"
    "下一步，将进一步优化营商环境，强化要素保障，推动更多项目早开工、早投产、早见效。"
)


def make_articles(n: int, rng: random.Random) -> tuple[list[Article], dict[int, StoryInfo]]:
    ids = cluster_ids()
    articles, stories = [], {}
    for i in range(1, n + 1):
        main = rng.choice(ids)
        clusters = [main] + ([rng.choice(ids)] if rng.random() < 0.3 else [])
        clusters = list(dict.fromkeys(clusters)) if rng.random() > 0.1 else []
        terms = rng.sample(SUBJECTS[main], k=min(2, len(SUBJECTS[main])))
        title = f"{terms[0]}项目取得新进展 徐州{rng.choice(['经开区', '高新区', '邳州', '新沂', '沛县', '睢宁'])}再添新动能"
        body = "\n".join(
            [f"记者从{terms[0]}获悉，{terms[1]}相关项目总投资{rng.randint(2, 90)}亿元，预计明年投产。"]
            + [FILLER] * rng.randint(3, 10)
        )
        art = Article(
            id=i,
            url=f"https://news.example/{i}.html",
            source_name=rng.choice(SOURCES),
            site=f"www.site{rng.randint(1, 30)}.cn",
            title=title,
            body=body,
            text_hash=f"x{i}",
            clusters=clusters,
            mentions=[rng.choice(ids)] if rng.random() < 0.2 else [],
            scores={c: rng.random() * 5 for c in clusters},
            evidence={c: terms for c in clusters},
            fetched_at=START + timedelta(minutes=rng.randint(1, 1439)),
            published_at=START + timedelta(minutes=rng.randint(0, 1400)),
            verdict="update" if rng.random() < 0.05 else "new",
            story_id=i if rng.random() < 0.25 else None,
            alertable=True,
        )
        if art.story_id:
            stories[i] = StoryInfo(art.url, tuple(f"copy{k}.cn" for k in range(rng.randint(2, 5))))
        articles.append(art)
    articles.sort(key=lambda a: a.fetched_at)
    return articles, stories


def make_subscriptions(n: int, rng: random.Random) -> list[Subscription]:
    ids = cluster_ids()
    subs = []
    for i in range(1, n + 1):
        subs.append(
            Subscription(
                id=i,
                subscriber_id=i,
                clusters=[] if rng.random() < 0.15 else rng.sample(ids, k=rng.randint(1, 3)),
                keywords=rng.choice(QUERIES) if rng.random() < 0.33 else None,
                sources=rng.sample(SOURCES, k=3) if rng.random() < 0.1 else [],
                include_mentions=rng.random() < 0.2,
                frequency="daily",
                created_at=START - timedelta(days=30),
            )
        )
    return subs


@contextmanager
def smtp_sink() -> Iterator[int]:
    """An aiosmtpd sink (accepts and drops every message) in its own process, so it takes no time from ours."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):  # wait until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def bench_engine(backend: str) -> Iterator[Engine]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="xznews-digest-") as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'digest.db'}")
            init_db(engine)
            yield engine
            engine.dispose()
        return
    from bench.pg import pg_engine

    with pg_engine() as engine:
        yield engine


def fill(engine: Engine, articles: list[Article], subs: list[Subscription]) -> None:
    """Write the day's articles (with their stories), one confirmed subscriber per subscription, the subscriptions."""
    from sqlalchemy import insert

    from store.models import Story, Subscriber

    with session_scope(engine) as session:
        session.execute(insert(Story), [{"id": a.id, "created_at": START} for a in articles if a.story_id])
        session.execute(insert(Article), [a.model_dump() for a in articles])
        session.execute(
            insert(Subscriber),
            [
                {"id": s.id, "email": f"reader{s.id}@example.com", "unsubscribe_token": f"t{s.id}",
                 "confirmed": True, "created_at": START}
                for s in subs
            ],
        )  # fmt: skip
        rows = [
            {"id": sub.id, "subscriber_id": sub.subscriber_id, "name": "", "clusters": sub.clusters,
             "keywords": sub.keywords, "sources": sub.sources, "include_mentions": sub.include_mentions,
             "frequency": "daily", "at_time": "08:00", "weekday": 0, "timezone": "Asia/Shanghai",
             "send_empty": False, "channels": ["email"], "active": True, "created_at": START,
             "last_success_at": START}
            for sub in subs
        ]  # fmt: skip
        session.execute(insert(Subscription), rows)
    if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        from sqlalchemy import text

        with engine.begin() as conn:
            for table in ("articles", "stories", "subscribers", "subscriptions"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
                )


def whole_path(backend: str, articles: list[Article], subs: list[Subscription]) -> tuple[float, object]:
    from alerts.dispatch import dispatch_due
    from core.settings import SmtpSettings

    with bench_engine(backend) as engine, smtp_sink() as port:
        fill(engine, articles, subs)
        settings = Settings(
            data_dir=Path(tempfile.gettempdir()),
            mail_from="徐州产业动态 <digest@news.example.org>",
            public_base_url="https://news.example.org",
            smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"),
        )
        start = time.perf_counter()
        report = dispatch_due(engine, settings, END, settle_s=0)  # the 08:00 (Shanghai) slot after START
        return time.perf_counter() - start, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument(
        "--outbox", type=Path, default=None, help="write .eml files here (default: memory only)"
    )
    parser.add_argument("--seed", type=int, default=343)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--compose-only", action="store_true", help="Skip the whole-path dispatch.")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    settings = Settings(data_dir=Path("/tmp"), mail_from="徐州产业动态 <digest@news.example.org>")
    articles, stories = make_articles(args.articles, rng)
    pool = ArticlePool(articles)
    subs = make_subscriptions(args.subscribers, rng)
    cache: dict = {}
    item_cache: dict = {}
    fragments: dict = {}
    sizes, items, empty = [], [], 0
    phases = dict.fromkeys(("match", "compose", "render", "mime"), 0.0)
    clock = time.perf_counter
    t0 = clock()
    for sub in subs:
        email = f"reader{sub.id}@example.com"
        t = clock()
        matches = match_articles(sub, pool, START, END, cache)
        t, phases["match"] = clock(), phases["match"] + clock() - t
        digest = compose(
            sub,
            email,
            matches,
            stories,
            START,
            END,
            f"https://news.example.org/unsubscribe/t{sub.id}",
            item_cache,
        )
        t, phases["compose"] = clock(), phases["compose"] + clock() - t
        if digest.is_empty:
            empty += 1
            continue
        rendered = render_digest(digest, fragments)
        t, phases["render"] = clock(), phases["render"] + clock() - t
        msg = mail.build_message(
            settings,
            email,
            rendered,
            mail.message_id(sub.id, END, "news.example.org"),
            digest.unsubscribe_url,
            "mailto:digest@news.example.org?subject=unsubscribe",
            END,
        )
        if args.outbox:
            mail.write_outbox(args.outbox, msg)
        else:
            sizes.append(len(msg.as_bytes()))
        phases["mime"] += clock() - t
        items.append(digest.count)
    elapsed = time.perf_counter() - t0
    sent = len(items)
    print(
        f"subscribers {len(subs)}, articles {len(articles)}: {sent} digests composed and rendered, {empty} empty"
    )
    print(f"items per digest: median {statistics.median(items):.0f}, max {max(items)}")
    if sizes:
        print(f"message size: median {statistics.median(sizes) / 1024:.1f} KiB")
    print(f"keyword evaluations: {len(cache)} (query, article) pairs")
    print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
    print(
        f"compose-only (no database, no SMTP): {elapsed:.1f} s, {elapsed / len(subs) * 1000:.2f} ms per subscriber"
    )
    if args.compose_only:
        return
    rng = random.Random(
        args.seed
    )  # the same articles and subscriptions again, fresh objects for the database
    articles, _stories = make_articles(args.articles, rng)
    subs = make_subscriptions(args.subscribers, rng)
    seconds, report = whole_path(args.backend, articles, subs)
    print(
        f"whole path on {args.backend} (dispatch_due: database + SMTP sink on 127.0.0.1): {seconds:.1f} s, "
        f"{seconds / len(subs) * 1000:.2f} ms per subscriber; sent {report.sent}, empty {report.empty}, "  # type: ignore[attr-defined]
        f"failed {report.failed}, retrying {report.retrying}"  # type: ignore[attr-defined]
    )
    print(f"goal: 10k in <= 60 s on one core; whole path / compose-only = {seconds / elapsed:.1f}x")


if __name__ == "__main__":
    main()
