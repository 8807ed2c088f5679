"""Reads of the published open-data package."""

from __future__ import annotations

from django.db.models import QuerySet

from opendata.models import PackageFile, PackageRelease

LOG_LENGTH = 20  # revisions listed on the open-data page


def latest_release() -> PackageRelease | None:
    return PackageRelease.objects.order_by("-number").first()


def release_log(limit: int = LOG_LENGTH) -> list[PackageRelease]:
    return list(PackageRelease.objects.order_by("-number")[:limit])


def release_files(release: PackageRelease) -> QuerySet[PackageFile]:
    """A revision's files without their bytes (names, sizes, digests), for listing."""
    return release.files.defer("content").order_by("name")


def published_file(name: str) -> PackageFile | None:
    """The newest revision's file of this name, without its bytes (read `content` to load them)."""
    return (
        PackageFile.objects.filter(name=name, release=PackageRelease.objects.order_by("-number").values("pk")[:1])
        .select_related("release")
        .defer("content")
        .first()
    )
