"""Projects: investment projects named in articles, merged across stories into a timeline."""

from core.lazy import exports

_NAMES = {
    "ProjectFact": "extract",
    "STAGES": "extract",
    "extract_projects": "extract",
    "Gazetteer": "places",
    "load_gazetteer": "places",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
