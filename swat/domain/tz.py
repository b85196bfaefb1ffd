"""The desk's time zone, defined once.

SWAT Desk serves Osaka Prefecture: the business calendar is Japan's, report days, months and
fiscal years are Tokyo's, and every page shows times in Asia/Tokyo. Instants are stored in
UTC (columns ending `_at`) and turned into Tokyo time with this constant only. It is not a
setting: a different zone would need a different calendar, and the report triggers and
facts (migrations 0008, 0011) count Tokyo days in SQL as applied.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
