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
_DESK_ID = re.compile(rf"^<?swat\.({NUMBER})(?:\.([ni])(\d+))?@([^>\s]+)>?$", re.IGNORECASE)
_TAG = re.compile(rf"\[({NUMBER})\]")


def domain_of(address: str) -> str:
    """The domain part of an address (the desk's Message-IDs end with it)."""
    return (address.rsplit("@", 1)[-1] if "@" in address else "") or "swat-desk.invalid"


def root_id(number: str, domain: str) -> str:
    """The consultation's own id: every notice about it refers to it."""
    return f"<swat.{number}@{domain}>"


def notice_id(number: str | None, outbox_id: int, domain: str, internal: bool = False) -> str:
    """The Message-ID of one notice (one outbox row); about a consultation when `number`.
    `internal`: a notice for the desk alone (a mention quoting an internal note, an
    assignment, triage, an escalation), whose reply by mail must never become a post the
    requester reads: its id says so (`.i` instead of `.n`), and a reply to it is held."""
    if number:
        return f"<swat.{number}.{'i' if internal else 'n'}{outbox_id}@{domain}>"
    return f"<swat.n{outbox_id}@{domain}>"


# What the subject of a notice for the desk alone starts with: a reply to it that kept only
# its subject is held, never posted where the requester reads it.
DESK_ONLY_MARK = "[SWAT内部]"


def desk_only_subject(subject: str) -> bool:
    return DESK_ONLY_MARK in (subject or "")


def tag(number: str) -> str:
    """What the subject of every notice about the consultation carries."""
    return f"[{number}]"


def numbers_referenced(ids: Iterable[str], domain: str) -> list[str]:
    """The consultation numbers named by the desk's own ids among these (from In-Reply-To
    and References, nearest first as given), each once; ids of other domains are not ours,
    nor are the internal notices' (a reply to one is held, see `internal_referenced`)."""
    found: list[str] = []
    for raw in ids:
        m = _DESK_ID.match(raw.strip())
        if m and m.group(4).lower() == domain.lower() and m.group(2) != "i" and m.group(1) not in found:
            found.append(m.group(1))
    return found


def internal_referenced(ids: Iterable[str], domain: str) -> bool:
    """Whether these ids answer one of the desk's internal notices (see `notice_id`)."""
    for raw in ids:
        m = _DESK_ID.match(raw.strip())
        if m and m.group(4).lower() == domain.lower() and m.group(2) == "i":
            return True
    return False


def number_in_subject(subject: str) -> str | None:
    """The consultation number of the last `[2026-00042]` tag in a subject, if any (a reply
    to a forwarded notice keeps the newest tag at the end)."""
    found = _TAG.findall(subject or "")
    return found[-1] if found else None
