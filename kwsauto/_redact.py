"""Keeping secrets out of everything kwsauto prints or writes: one function, :func:`redact`.

Storage URLs carry database passwords (``postgresql://user:secret@host/db``), and drivers echo them in their error
messages, sometimes percent-decoded. Every message and every settings record goes through :func:`redact`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

__all__ = ["redact", "MASK"]

MASK = "***"
# scheme://[user]:password@host — the password runs to the last '@' of the URL, so it may hold '@', ':' and '/'
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]*:)(?P<secret>[^\s'\"]*)@(?=[^\s@'\"]*(?:[\s'\"]|$))")
# ?password=…, &token=…, PGPASSWORD=…, password: …, api_key=… (query strings, libpq keywords, environment variables)
_KEY_VALUE = re.compile(
    r"(?P<head>\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)[\w.-]*['\"]?\s*[=:]\s*)"
    r"(?P<secret>'[^']*'|\"[^\"]*\"|[^\s&;,'\"]+)",
    re.IGNORECASE,
)


def redact(text: str, *sources: str | None) -> str:
    """``text`` with every password masked: in URLs, ``key=value`` forms, and, taken from the ``sources`` URLs
    (the storage URL a message is about), anywhere else it appears, raw or percent-encoded or -decoded."""
    text = str(text)
    for source in sources:
        for secret in _secrets_of(source or ""):
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)
    return _KEY_VALUE.sub(lambda m: m.group("head") + MASK, text)


def _secrets_of(url: str) -> list[str]:
    """The password of ``url`` in every spelling a driver might echo it, longest first (3+ characters only)."""
    found = [m.group("secret") for m in _URL_PASSWORD.finditer(url)]
    found += [m.group("secret").strip("'\"") for m in _KEY_VALUE.finditer(url)]
    spellings = {s for raw in found for s in (raw, unquote(raw), quote(unquote(raw), safe=""))}
    return sorted((s for s in spellings if len(s) >= 3 and s != MASK), key=len, reverse=True)
