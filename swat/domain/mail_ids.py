"""The desk's own Message-IDs and the consultation tag in subjects: how a mail names its
consultation, both ways.

Every notice about a consultation carries `Message-ID: <swat.2026-00042.n137@domain>` (137 is
its outbox row), `In-Reply-To`/`References` to the consultation's root
`<swat.2026-00042@domain>` (and to the mail it was filed by, when it was), and `[2026-00042]`
in its subject. A reply to any of them names the consultation by its `In-Reply-To` or
`References` first, then by the tag. Naming a consultation proves nothing: whoever replies
must still be allowed to reply to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NUMBER = r"\d{4}-\d{5,7}"
_DESK_ID = re.compile(rf"^<?swat\.({NUMBER})(?:\.n(\d+))?@([^>\s]+)>?$", re.IGNORECASE)
_TAG = re.compile(rf"\[({NUMBER})\]")


def domain_of(address: str) -> str:
    """The domain part of an address (the desk's Message-IDs end with it)."""
    return (address.rsplit("@", 1)[-1] if "@" in address else "") or "swat-desk.invalid"


def root_id(number: str, domain: str) -> str:
    """The consultation's own id: every notice about it refers to it."""
    return f"<swat.{number}@{domain}>"


def notice_id(number: str | None, outbox_id: int, domain: str) -> str:
    """The Message-ID of one notice (one outbox row); about a consultation when `number`."""
    if number:
        return f"<swat.{number}.n{outbox_id}@{domain}>"
    return f"<swat.n{outbox_id}@{domain}>"


def tag(number: str) -> str:
    """What the subject of every notice about the consultation carries."""
    return f"[{number}]"


def numbers_referenced(ids: Iterable[str], domain: str) -> list[str]:
    """The consultation numbers named by the desk's own ids among these (from In-Reply-To
    and References, nearest first as given), each once; ids of other domains are not ours."""
    found: list[str] = []
    for raw in ids:
        m = _DESK_ID.match(raw.strip())
        if m and m.group(3).lower() == domain.lower() and m.group(1) not in found:
            found.append(m.group(1))
    return found


def number_in_subject(subject: str) -> str | None:
    """The consultation number of the last `[2026-00042]` tag in a subject, if any (a reply
    to a forwarded notice keeps the newest tag at the end)."""
    found = _TAG.findall(subject or "")
    return found[-1] if found else None
