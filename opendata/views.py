"""The open-data page and its files: the data package of the public figures and the contracts in OCDS.

Files are served with a strong ETag (their SHA-256) and Last-Modified, answer conditional
requests with 304, and carry `Access-Control-Allow-Origin: *` so that other sites' tools can
read them from the browser (they hold only public data, and no cookie is sent cross-origin).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from commissioning import ocds
from commissioning import permissions as commissioning_permissions
from commissioning import selectors as commissioning_selectors
from commissioning.permissions import ContractAccess
from opendata import package, permissions, selectors

PUBLIC_MAX_AGE = 300  # seconds a cache may keep a public file before asking again (with its ETag)
FILE_ORDER = ["datapackage.json", package.ZIP_NAME, "metrics.csv", "indicators.csv", "areas.csv", "revisions.csv"]


def _served(
    request: HttpRequest, content: bytes, media_type: str, *, etag: str, last_modified: float | None, public: bool
) -> HttpResponse:
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(content, content_type=media_type)
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    if public:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        response["Access-Control-Allow-Origin"] = "*"
    else:
        patch_cache_control(response, private=True, no_cache=True)
    return response


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """The open-data page: what the package holds, its licence, its files and its revision log."""
    permissions.can_read_open_data(request.user)  # everyone: the package holds public figures only
    release = selectors.latest_release()
    files: list[Any] = []
    if release is not None:
        by_name = {f.name: f for f in selectors.release_files(release)}
        files = [by_name[name] for name in FILE_ORDER if name in by_name]
    return render(
        request,
        "opendata/index.html",
        {
            "release": release,
            "files": files,
            "log": selectors.release_log(),
            "change_labels": package.CHANGE_KINDS,
            "licence": package.LICENCE,
            "zip_name": package.ZIP_NAME,
            "metric_fields": package.METRIC_FIELDS,
            "suppressed": package.SUPPRESSED,
        },
    )


@require_safe
def package_file(request: HttpRequest, name: str) -> HttpResponse:
    """One file of the newest revision of the package (datapackage.json, a CSV, the zip)."""
    permissions.can_read_open_data(request.user)
    found = selectors.published_file(name)
    if found is None:
        raise Http404("No such file in the open-data package.")
    etag = f'"{found.sha256}"'
    last_modified = found.release.created_at.timestamp()
    conditional = get_conditional_response(request, etag=etag, last_modified=last_modified)
    content = b"" if conditional is not None else bytes(found.content)  # the bytes only when sent
    response = _served(request, content, found.media_type, etag=etag, last_modified=last_modified, public=True)
    if name != "datapackage.json":
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@require_safe
def contracts_package(request: HttpRequest) -> HttpResponse:
    """The public contract register as an OCDS release package: what an anonymous visitor sees."""
    contracts = commissioning_selectors.contract_register(user=AnonymousUser()).order_by("reference")
    releases = [ocds.contract_release(c) for c in contracts]
    content = _json(ocds.release_package(releases, uri_path=request.path))
    etag = f'"{hashlib.sha256(content).hexdigest()}"'
    return _served(request, content, "application/json", etag=etag, last_modified=None, public=True)


@require_safe
def contract_ocds(request: HttpRequest, pk: int) -> HttpResponse:
    """One contract as an OCDS release package: public summary, or in full for its commissioners and providers."""
    contract, access = commissioning_permissions.get_contract_for_user_or_404(request.user, pk)
    full = access in (ContractAccess.MANAGE, ContractAccess.READ)
    measures = list(commissioning_selectors.contract_measures(contract)) if full else []
    release = ocds.contract_release(contract, full=full, measures=measures)
    content = _json(ocds.release_package([release], uri_path=request.path))
    etag = f'"{hashlib.sha256(content).hexdigest()}"'
    return _served(request, content, "application/json", etag=etag, last_modified=None, public=not full)
