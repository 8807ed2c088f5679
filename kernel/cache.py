"""Django's Redis cache, failing open: the cache is a speed-up, never a reason for an error page.

With Redis down or restarting, a read is a miss and a write is skipped (each logged once per
process per minute), so pages and the API are served from PostgreSQL, only slower. DRF's
throttles then let requests through rather than refuse everyone. Celery's broker is a
separate concern: its workers reconnect by themselves.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from pathlib import Path
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class FailOpenRedisCache(RedisCache):
    _last_warning = 0.0

    def _failed(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - FailOpenRedisCache._last_warning > 60:
            FailOpenRedisCache._last_warning = now
            logger.warning("cache unavailable (%s failed: %s); serving without it", operation, exc)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except _DOWN as exc:
            self._failed("get", exc)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict:
        try:
            return super().get_many(keys, version)
        except _DOWN as exc:
            self._failed("get_many", exc)
            return {}

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except _DOWN as exc:
            self._failed("set", exc)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except _DOWN as exc:
            self._failed("add", exc)
            return False

    def set_many(self, data: dict, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list:
        try:
            return super().set_many(data, timeout, version)
        except _DOWN as exc:
            self._failed("set_many", exc)
            return list(data)

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except _DOWN as exc:
            self._failed("delete", exc)
            return False

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except _DOWN as exc:
            self._failed("touch", exc)
            return False

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except _DOWN as exc:
            self._failed("has_key", exc)
            return False

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # A missed increment of a generation counter may serve cached pages a little longer;
        # after a Redis restart the cache is empty anyway. Log it, never fail the caller.
        try:
            return super().incr(key, delta, version)
        except _DOWN as exc:
            logger.error("cache unavailable: increment of %s lost (%s)", key, exc)
            return delta


# The code a cached page or figure was made by ------------------------------------------------
# Rendered bodies and computed figures are cached until the metrics change; a release that changes
# a template or the code that builds them must not be served the former release's entries (a
# deploy with unchanged metrics would otherwise show the old pages until the next recompute).
# Their keys carry this digest of the portal's own source, taken once a process: this package,
# every installed app that is a top-level package of the project, and the template directories.
SOURCE_SUFFIXES = (".py", ".html", ".txt", ".md", ".json")


def source_roots() -> list[Path]:
    """The directories whose files make up the running portal's code, in a fixed order."""
    from django.apps import apps
    from django.conf import settings

    base = Path(settings.BASE_DIR).resolve()
    roots = {Path(__file__).resolve().parent}
    # the project's own apps are its top-level packages (a virtualenv inside it holds the others)
    roots.update(path for path in (Path(c.path).resolve() for c in apps.get_app_configs()) if path.parent == base)
    for engine in settings.TEMPLATES:
        roots.update(Path(directory).resolve() for directory in engine.get("DIRS", ()))
    return sorted(roots)


@functools.cache
def code_version() -> str:
    """A short digest of every source file (path and content) under `source_roots()`."""
    digest = hashlib.sha256()
    for root in source_roots():
        for path in sorted(root.rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
