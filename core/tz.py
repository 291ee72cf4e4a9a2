"""The time zone the sources publish in and the service shows times in."""

from __future__ import annotations

from zoneinfo import ZoneInfo

# Chinese sources give local times without a zone; every stage reads and shows them in this one.
SHANGHAI = ZoneInfo("Asia/Shanghai")
