"""Search and front-page latency over a large synthetic archive, on SQLite and PostgreSQL.

    .venv/bin/python bench/search.py [--n 100000] [--body 600] [--pg URL] [--skip-sqlite]

Fills N articles of generated Chinese text (words of the 343 clusters amid filler; nothing copied from any site),
builds the index the way an installed database gets it (store.search.rebuild_search_index), then times
`search_stories` for a fixed set of queries (first page, 20 stories, hits checked by the real matcher) and GET /
through the live web app. Prints p50/p95 per backend. The goal is search p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, event, insert, text
from sqlmodel import Session

import ingest.normalize  # noqa: F401  (the index normalizes like the rest of xznews)
from alerts.query import parse_query
from store.db import init_db, make_engine
from store.models import Article
from store.search import rebuild_search_index
from xznews.web import WebServer
from xznews.web.stories import Filters, search_stories

TOPICS = [
    ["徐工", "起重机", "挖掘机", "工程机械", "装载机", "XCMG", "智能制造"],
    ["协鑫", "光伏", "储能", "风电", "氢能", "绿色低碳", "电池片"],
    ["新材料", "硅材料", "石墨烯", "碳纤维", "电子级多晶硅"],
    ["数字经济", "软件园", "大数据", "算力", "人工智能", "云计算"],
    ["集成电路", "芯片", "封装测试", "晶圆", "半导体"],
    ["医药", "生物医药", "医疗器械", "创新药", "医学产业园"],
    ["安全应急", "应急装备", "矿山安全", "消防"],
    ["精品钢材", "钢铁", "特钢", "轧钢"],
    ["纺织", "服装", "化纤", "面料"],
    ["农副产品", "食品加工", "粮油", "冷链"],
]
FILLER = str.split(
    "徐州 项目 签约 开工 建设 投产 企业 园区 经开区 高新区 发展 推进 会议 召开 政策 招商 投资 亿元 "
    "产业链 集群 创新 研发 平台 合作 协议 市场 出口 订单 产能 今年 以来 记者 获悉 表示 将 进一步 加快 "
    "重点 工作 部署 服务 人才 招聘 培训 活动 举办 成果 展示 质量 提升 效益 增长 同比 百分之"
)
QUERIES = [
    "徐工",
    "徐工 起重机",
    "光伏 | 储能",
    '"电子级多晶硅"',
    "芯片 -招聘",
    "xcmg",
    "(医药 | 医疗器械) 创新",
    "钢",
    "量子纠缠",
]


def _text(rng: random.Random, chars: int) -> str:
    topic = rng.choice(TOPICS)
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(topic) if rng.random() < 0.15 else rng.choice(FILLER)
        out.append(word)
        size += len(word)
        if rng.random() < 0.08:
            out.append("。")
    return "".join(out)


def fill(engine: Engine, n: int, body: int) -> None:
    rng = random.Random(343)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clusters = ["engineering_machinery", "green_energy", "new_materials", "digital_economy", "ic_ict"]
    batch: list[dict] = []
    with engine.begin() as conn:
        for i in range(1, n + 1):
            batch.append(
                {
                    "url": f"https://news{i % 40}.example.org/a/{i}.html",
                    "source_name": f"source{i % 40}",
                    "site": f"news{i % 40}.example.org",
                    "title": _text(rng, 18),
                    "body": _text(rng, body),
                    "text_hash": f"{i:064d}",
                    "verdict": "new",
                    "clusters": [rng.choice(clusters)],
                    "mentions": [],
                    "scores": {},
                    "evidence": {},
                    "xuzhou_score": 1.0,
                    "development_score": 1.0,
                    "alertable": True,
                    "is_seed": False,
                    "fetched_at": start + timedelta(minutes=5 * i),
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(Article), batch)  # Core insert: the index is built afterwards, in bulk
                batch = []
        if batch:
            conn.execute(insert(Article), batch)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def time_search(engine: Engine, rounds: int) -> list[float]:
    parsed = [parse_query(q) for q in QUERIES]
    timings = []
    with Session(engine) as session:
        for query in parsed:  # warm-up: first use of each query compiles regexes, loads pages
            search_stories(session, query, Filters())
        for _ in range(rounds):
            for query in parsed:
                t = time.perf_counter()
                search_stories(session, query, Filters())
                timings.append((time.perf_counter() - t) * 1000)
    return timings


def time_front_page(engine: Engine, rounds: int) -> list[float]:
    timings = []
    with WebServer(engine, "127.0.0.1", 0) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        client.get("/")
        for _ in range(rounds):
            t = time.perf_counter()
            assert client.get("/").status_code == 200
            timings.append((time.perf_counter() - t) * 1000)
    return timings


def run(name: str, engine: Engine, n: int, body: int, rounds: int) -> None:
    init_db(engine)
    t = time.perf_counter()
    fill(engine, n, body)
    filled = time.perf_counter() - t
    t = time.perf_counter()
    indexed = rebuild_search_index(engine)
    built = time.perf_counter() - t
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    search = time_search(engine, rounds)
    front = time_front_page(engine, rounds * 2)
    print(
        f"{name}: {n} articles (body {body} chars) filled in {filled:.0f} s, {indexed} indexed in {built:.0f} s\n"
        f"  search ({len(QUERIES)} queries x {rounds}): p50 {_pct(search, 0.5):.1f} ms, "
        f"p95 {_pct(search, 0.95):.1f} ms, max {max(search):.1f} ms, mean {statistics.mean(search):.1f} ms\n"
        f"  GET / ({len(front)} requests): p50 {_pct(front, 0.5):.1f} ms, p95 {_pct(front, 0.95):.1f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--body", type=int, default=600, help="characters per article body")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/xznews_test")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            run("SQLite", engine, args.n, args.body, args.rounds)
            engine.dispose()
    if not args.skip_pg:
        schema = "bench_" + uuid.uuid4().hex[:8]
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(args.pg)

        @event.listens_for(engine, "connect")
        def _path(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            with dbapi_conn.cursor() as cur:
                cur.execute(f'SET search_path TO "{schema}"')
            dbapi_conn.commit()

        try:
            run("PostgreSQL", engine, args.n, args.body, args.rounds)
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
