"""A staticfiles finder that serves the NHS.UK frontend CSS without its remote web fonts.

nhsuk-frontend's compiled CSS declares the Frutiger web font with `@font-face` rules that load
it from https://assets.nhs.uk. The package ships no font files (Frutiger is licensed; NHS
organisations register for it with NHS England), so the portal cannot serve them itself, and
its Content Security Policy (`font-src 'self'`) refuses the remote ones: every page logged a
CSP violation. This finder offers `vendor/nhsuk-frontend/nhsuk-frontend.self-hosted.min.css`,
the package's minified CSS with the `@font-face` rules (and the now wrong source-map comment)
taken out. The font stack still names "Frutiger W01" first, so a browser with Frutiger
installed uses it and every other browser falls back to Arial, as before, with no request.

There is no front-end build step: the copy is written under `.local/` (git-ignored) the first
time it is looked for and again whenever the package's CSS is newer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

SELF_HOSTED_CSS = "vendor/nhsuk-frontend/nhsuk-frontend.self-hosted.min.css"
FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
SOURCE_MAP = re.compile(r"/\*#\s*sourceMappingURL=[^*]*\*/")


def strip_font_faces(css: str) -> str:
    """The CSS without any `@font-face` rule or source-map comment."""
    return SOURCE_MAP.sub("", FONT_FACE.sub("", css))


class NhsukSelfHostedCssFinder(BaseFinder):
    """Finds the one derived file, SELF_HOSTED_CSS, writing it from the npm package when needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source = Path(settings.NODE_MODULES) / "nhsuk-frontend" / "dist" / "nhsuk" / "nhsuk-frontend.min.css"
        self.root = Path(settings.BASE_DIR) / ".local" / "static-derived"
        self.storage = FileSystemStorage(location=str(self.root))

    def _build(self) -> Path:
        target = self.root / SELF_HOSTED_CSS
        if not target.exists() or target.stat().st_mtime < self.source.stat().st_mtime:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(strip_font_faces(self.source.read_text(encoding="utf-8")), encoding="utf-8")
        return target

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        # Django 5.2 still passes `all=` from older callers; either spelling asks for a list.
        find_all = find_all or kwargs.get("all", False)
        if path != SELF_HOSTED_CSS or not self.source.exists():
            return [] if find_all else ""
        found = str(self._build())
        return [found] if find_all else found

    def list(self, ignore_patterns: Any) -> Any:
        if self.source.exists():
            self._build()
            yield SELF_HOSTED_CSS, self.storage
