"""The digest's 项目动态 section: new projects and stage changes in the window, per subscription.

A subscription sees the project facts of articles fetched in its window that started a project or reported a
stage not reported before, filtered by its clusters and sources like its articles, and by its own project
filters (stages, smallest total investment).  Kept apart from alerts.digest so the section can grow on its own:
compose() asks for it in one call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import object_session
from sqlmodel import Session

from core.tz import SHANGHAI
from ingest.projects import STAGE_ZH, parse_stages, project_changes
from store import Article, Project, ProjectReport, Subscription

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _line(text: str | None) -> str:
    return re.sub(r"\s{2,}", " ", _CONTROL.sub(" ", text or "")).strip()


@dataclass(frozen=True)
class ProjectItem:
    project_id: int
    name: str
    company: str
    stage: str  # 签约, 开工, …
    amount: str  # "36亿元" or ""
    place: str
    change: str  # 新项目 | 进展
    title: str  # the article that reported it
    url: str
    date: str  # "2026-06-09" in Asia/Shanghai


def apply_project_filters(
    sub: Subscription, stages: str | Iterable[str] | None, min_amount: float | None
) -> None:
    """Set the 项目动态 filters; bad values raise ValueError with the reason."""
    stages = (
        parse_stages(stages) if isinstance(stages, str) or stages is None else parse_stages(",".join(stages))
    )
    if min_amount is not None and min_amount < 0:
        raise ValueError("--min-amount must be 0 or more (亿元)")
    sub.project_stages = list(stages)
    sub.project_min_amount = min_amount


def _admits(sub: Subscription, report: ProjectReport, project: Project, article: Article) -> bool:
    if sub.clusters and not set(sub.clusters) & set(report.clusters or project.clusters or []):
        return False
    if sub.sources and not {article.source_name, article.site} & set(sub.sources):
        return False
    if sub.project_stages and report.stage not in sub.project_stages:
        return False
    minimum = sub.project_min_amount
    return minimum is None or (project.amount_yi is not None and project.amount_yi >= minimum)


def project_items(
    sub: Subscription, start: datetime, end: datetime, session: Session | None = None
) -> list[ProjectItem]:
    """The section for `sub` over (start, end]; without a session (a detached subscription) it is empty."""
    session = session or object_session(sub)  # type: ignore[assignment]
    if session is None:
        return []
    latest: dict[int, ProjectItem] = {}
    for report, project, article in project_changes(session, start, end):
        if not _admits(sub, report, project, article):
            continue
        when = report.reported_at or article.fetched_at
        amount = project.amount_yi if project.amount_yi is not None else report.amount_yi
        latest[project.id or 0] = ProjectItem(  # a later change in the window replaces an earlier one
            project_id=project.id or 0,
            name=_line(project.name),
            company=_line(project.company),
            stage=STAGE_ZH.get(report.stage or "", "—"),
            amount=f"{amount:g}亿元" if amount is not None else "",
            place=_line(project.place),
            change="新项目" if report.change == "new" else "进展",
            title=_line(article.title),
            url=_line(article.url or article.canonical_url),
            date=when.astimezone(SHANGHAI).strftime("%Y-%m-%d") if when else "",
        )
    return list(latest.values())
