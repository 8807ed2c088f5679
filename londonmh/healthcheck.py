"""Health check for the web container: `python -m londonmh.healthcheck [URL]`.

Asks the running web server for /health/ (which also queries the database) and exits 0 when
it answers 200, 1 otherwise. It sends the first usable ALLOWED_HOSTS entry as the Host header,
so Django does not reject the request, and `X-Forwarded-Proto: https`, as the TLS proxy in
front would. It follows no redirect: a web server that redirects its own health check to
HTTPS is misconfigured for running behind a proxy (see docs/deploying.md), and should fail.
Only the standard library is used, so the check stays fast and needs no settings.
"""

from __future__ import annotations

import http.client
import os
import sys
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8000/health/"


def host_header(allowed_hosts: str) -> str:
    """The first ALLOWED_HOSTS entry that names a host ('*' does not; '.example.org' does)."""
    for entry in allowed_hosts.split(","):
        host = entry.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def check(url: str, *, allowed_hosts: str = "", timeout: float = 5.0) -> tuple[bool, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False, f"{url}: only http:// URLs are checked"
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request(
            "GET",
            parts.path or "/",
            headers={"Host": host_header(allowed_hosts), "X-Forwarded-Proto": "https"},
        )
        response = connection.getresponse()
        body = response.read(200).decode("utf-8", "replace")
    except OSError as exc:
        return False, f"{url}: {exc}"
    finally:
        connection.close()
    return response.status == 200, f"{url}: HTTP {response.status} {body}"


def main(argv: list[str]) -> int:
    url = argv[0] if argv else DEFAULT_URL
    healthy, message = check(url, allowed_hosts=os.environ.get("ALLOWED_HOSTS", ""))
    print(message)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
