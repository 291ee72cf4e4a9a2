"""Facts stored per article and merged into projects with a timeline; the queries the CLI, digests and the web
pages share.

Two facts are one project when their names agree (normalized, without 年产/项目) and their companies do not
disagree, or when the company is the same and the names overlap (年产6GW异质结电池及组件项目 = 年产6GW异质结电池
组件项目) — more loosely when the place is the same too; a different phase (二期) is a different project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from types import SimpleNamespace

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, col, select

from ingest.normalize import normalize_text
from ingest.projects.extract import STAGE_ORDER, STAGES, ProjectFact, extract_projects, name_key
from ingest.projects.places import load_gazetteer
from store import Article, Project, ProjectReport, session_scope

_COMPANY_TAIL = re.compile(r"(?:股份有限公司|有限责任公司|集团有限公司|有限公司|集团公司|集团|公司)$")
_COMPANY_HEAD = re.compile(
    r"^(?:中国|江苏省?|徐州市?|上海市?|北京市?|深圳市?|南京市?|苏州市?|浙江省?|山东省?)"
)
_PHASE = re.compile(r"[一二三四五]期")
_PRODUCT_NOISE = re.compile(r"[0-9a-z.]+|万|吨|台|套|件|片|辆|锭|平方米|英寸|生产|研发|制造|智能|基地|项目")


def company_key(company: str | None) -> str | None:
    """江苏辉曜光能科技有限公司 → 辉曜光能科技; 弘途新能源科技（徐州）有限公司 → 弘途新能源科技."""
    if not company:
        return None
    key = normalize_text(company)
    key = re.sub(r"[（(][^）)]*[）)]", "", key)
    key = _COMPANY_TAIL.sub("", _COMPANY_HEAD.sub("", key))
    return key[:100] or None


def _product(key: str, company: str | None = None) -> str:
    """The name without figures, generic words and the company's name: what is made."""
    key = _PRODUCT_NOISE.sub("", key)
    for part in {company or "", (company or "")[:2]}:
        if len(part) >= 2:
            key = key.replace(part, "")
    return key


def same_project(a_key: str, a_company: str | None, a_place: str | None, b: Project) -> bool:
    if _PHASE.findall(a_key) != _PHASE.findall(b.name_key):
        return False
    companies_agree = not a_company or not b.company_key or a_company == b.company_key
    if a_key == b.name_key:
        return companies_agree
    if not (a_company and a_company == b.company_key):
        # No shared company: only a clearly longer spelling of the same name in the same place.
        return (
            companies_agree
            and bool(a_place)
            and a_place == b.place
            and min(len(a_key), len(b.name_key)) >= 6
            and (a_key in b.name_key or b.name_key in a_key)
        )
    # Same company: compare what is made (比亚迪30GWh刀片电池 ≠ 比亚迪30GWh钠离子电池).
    pa, pb = _product(a_key, a_company), _product(b.name_key, a_company)
    if pa and pb and (pa in pb or pb in pa):
        return True
    # Otherwise in order, not as a bag of characters (光伏压延玻璃 ≠ 光伏背板玻璃).
    ratio = SequenceMatcher(None, pa, pb).ratio()
    return ratio >= 0.85 or (bool(a_place) and a_place == b.place and ratio >= 0.75)


def _candidates(session: Session, key: str, company: str | None) -> list[Project]:
    stmt = select(Project).where(Project.name_key == key)
    if company:
        stmt = select(Project).where((Project.name_key == key) | (Project.company_key == company))
    return list(session.exec(stmt.order_by(col(Project.id))))


def record_article_projects(session: Session, article: Article) -> list[ProjectReport]:
    """Extract and store the projects of a stored article (the ingest and seed hook); idempotent."""
    session.flush()  # the article needs its id
    if session.exec(select(ProjectReport.id).where(ProjectReport.article_id == article.id)).first():
        return []
    classification = SimpleNamespace(
        clusters=article.clusters or [], mentions=article.mentions or [], evidence=article.evidence or {}
    )
    facts = extract_projects(article.title, article.body, classification)
    when = article.published_at or article.fetched_at
    return [_store_fact(session, article, fact, when) for fact in facts]


def _store_fact(
    session: Session, article: Article, fact: ProjectFact, when: datetime | None
) -> ProjectReport:
    key = name_key(fact.name)[:200]
    ckey = company_key(fact.company)
    taken = set(session.exec(select(ProjectReport.project_id).where(ProjectReport.article_id == article.id)))
    candidates = [
        p for p in _candidates(session, key, ckey) if p.id not in taken
    ]  # one article, two projects
    project = next((p for p in candidates if same_project(key, ckey, fact.place, p)), None)
    change = ""
    if project is None:
        project = Project(
            name=fact.name, name_key=key, company=fact.company, company_key=ckey, place=fact.place
        )
        session.add(project)
        session.flush()
        change = "new"
    else:
        seen = set(session.exec(select(ProjectReport.stage).where(ProjectReport.project_id == project.id)))
        if fact.stage and fact.stage not in seen:
            change = "stage"
    _absorb(project, fact, article, when)
    report = ProjectReport(
        article_id=article.id or 0,
        project_id=project.id,
        name=fact.name,
        company=fact.company,
        amount_yi=fact.amount_yi,
        stage=fact.stage,
        place=fact.place,
        clusters=fact.clusters,
        evidence=fact.evidence,
        reported_at=when,
        seen_at=article.fetched_at,
        change=change,
    )
    session.add(report)
    return report


def _absorb(project: Project, fact: ProjectFact, article: Article, when: datetime | None) -> None:
    project.company = project.company or fact.company
    project.company_key = project.company_key or company_key(fact.company)
    if fact.stage and (project.stage is None or STAGE_ORDER[fact.stage] > STAGE_ORDER[project.stage]):
        project.stage = fact.stage
    if fact.place and (project.place is None or _rank(fact.place) > _rank(project.place)):
        project.place = fact.place
    if fact.amount_yi is not None:
        amounts = list(project.amounts or [])
        if all(abs(a["amount_yi"] - fact.amount_yi) >= 0.005 for a in amounts):
            amounts.append({"amount_yi": fact.amount_yi, "article_id": article.id})
        project.amounts = amounts
        project.amount_yi = max(a["amount_yi"] for a in amounts)
    project.clusters = sorted(set(project.clusters or []) | set(fact.clusters))
    if when:
        project.first_reported_at = min(filter(None, [project.first_reported_at, when]))
        project.last_reported_at = max(filter(None, [project.last_reported_at, when]))


def _rank(place: str) -> int:
    known = load_gazetteer().places.get(place)
    return known.rank if known else 3  # a park read from "zone + …产业园"


def rebuild_projects(engine: Engine, batch: int = 200) -> tuple[int, int]:
    """Forget every fact and project and extract them again from the stored articles, oldest first.
    Returns (articles read, facts stored)."""
    with session_scope(engine) as session:
        session.exec(delete(ProjectReport))  # type: ignore[call-overload]
        session.exec(delete(Project))  # type: ignore[call-overload]
    when = func.coalesce(Article.published_at, Article.fetched_at)
    with Session(engine) as session:
        ids = list(session.exec(select(Article.id).order_by(when, col(Article.id))))
    facts = 0
    for i in range(0, len(ids), batch):
        with session_scope(engine) as session:
            by_id = {
                a.id: a for a in session.exec(select(Article).where(col(Article.id).in_(ids[i : i + batch])))
            }
            for article_id in ids[i : i + batch]:
                facts += len(record_article_projects(session, by_id[article_id]))
    return len(ids), facts


# ------------------------------------------------------------------------------------------------ queries


def parse_stages(value: str | None) -> tuple[str, ...]:
    """'signed,started' → ('signed', 'started'); an unknown stage raises ValueError naming the allowed ones."""
    stages = tuple(s.strip() for s in (value or "").split(",") if s.strip())
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise ValueError(f"unknown project stage {', '.join(bad)}: expected {', '.join(STAGES)}")
    return stages


@dataclass
class ProjectFilter:
    cluster: str | None = None
    stages: tuple[str, ...] = ()
    place: str | None = None
    since: datetime | None = None
    min_amount: float | None = None

    def admits(self, project: Project) -> bool:
        if self.cluster and self.cluster not in (project.clusters or []):
            return False
        if self.stages and project.stage not in self.stages:
            return False
        if self.min_amount is not None and (project.amount_yi is None or project.amount_yi < self.min_amount):
            return False
        if self.place:
            gaz = load_gazetteer()
            target = gaz.canonical(normalize_text(self.place))
            if not project.place or target not in gaz.within(project.place):
                return False
        return True


SORTS = ("recent", "amount", "name", "stage")


def list_projects(session: Session, flt: ProjectFilter | None = None, sort: str = "recent") -> list[Project]:
    """Projects passing `flt`, most recently reported first (or by amount, name, stage)."""
    flt = flt or ProjectFilter()
    stmt = select(Project)
    if flt.since:
        stmt = stmt.where(col(Project.last_reported_at) >= flt.since)
    rows = [p for p in session.exec(stmt) if flt.admits(p)]
    keys = {
        "recent": lambda p: (-(p.last_reported_at.timestamp() if p.last_reported_at else 0), p.id),
        "amount": lambda p: (-(p.amount_yi or 0), p.id),
        "name": lambda p: (p.name, p.id),
        "stage": lambda p: (-STAGE_ORDER.get(p.stage or "", -1), p.id),
    }
    return sorted(rows, key=keys[sort])


@dataclass
class TimelineEntry:
    report: ProjectReport
    article: Article


def project_timeline(session: Session, project_id: int) -> tuple[Project, list[TimelineEntry]] | None:
    """The project and every article's report on it, oldest first; None when there is no such project."""
    project = session.get(Project, project_id)
    if project is None:
        return None
    rows = session.exec(
        select(ProjectReport, Article)
        .join(Article, col(Article.id) == col(ProjectReport.article_id))
        .where(ProjectReport.project_id == project_id)
        .order_by(col(ProjectReport.reported_at), col(ProjectReport.id))
    )
    return project, [TimelineEntry(r, a) for r, a in rows]


def project_changes(
    session: Session, start: datetime, end: datetime
) -> list[tuple[ProjectReport, Project, Article]]:
    """New projects and stage changes among the facts of articles fetched in (start, end]."""
    rows = session.exec(
        select(ProjectReport, Project, Article)
        .join(Project, col(Project.id) == col(ProjectReport.project_id))
        .join(Article, col(Article.id) == col(ProjectReport.article_id))
        .where(
            col(ProjectReport.seen_at) > start, col(ProjectReport.seen_at) <= end, ProjectReport.change != ""
        )
        .order_by(col(ProjectReport.seen_at), col(ProjectReport.id))
    )
    return list(rows)
