"""Projects: investment projects named in articles (name, company, 亿元, stage, place, evidence), merged across
stories into projects with a timeline.  In: a stored article; out: project_facts and projects rows."""

from core.lazy import exports

_NAMES = {
    "ProjectFact": "extract",
    "STAGES": "extract",
    "STAGE_ZH": "extract",
    "STAGE_ORDER": "extract",
    "extract_projects": "extract",
    "name_key": "extract",
    "Gazetteer": "places",
    "load_gazetteer": "places",
    "ProjectFilter": "track",
    "SORTS": "track",
    "TimelineEntry": "track",
    "company_key": "track",
    "list_projects": "track",
    "parse_stages": "track",
    "project_changes": "track",
    "project_timeline": "track",
    "rebuild_projects": "track",
    "record_article_projects": "track",
    "same_project": "track",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
