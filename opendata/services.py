"""Every write of the open-data package: publishing a new revision."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from opendata import package, permissions
from opendata.models import KEEP_FILES, PackageFile, PackageRelease
from stakeholders.models import User

logger = logging.getLogger(__name__)


@transaction.atomic
def package_publish(*, actor: User | None = None) -> PackageRelease | None:
    """Build the data package from the public figures; store it as a new revision if anything changed.

    Permission: the system (`actor` None: the debounced task, the nightly check, seed_demo) or
    staff. Idempotent: one build at a time (an advisory lock), and a build whose data equals the
    newest revision's stores nothing and returns None. Otherwise it records the revision with
    what changed since the one before and its files, and drops the files of revisions older
    than the last KEEP_FILES (their log stays).
    """
    if actor is not None and not permissions.can_rebuild_package(actor):
        raise PermissionDenied
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('opendata.package'))")
    contents = package.collect()
    digest = contents.digest
    latest = PackageRelease.objects.order_by("-number").first()
    if latest is not None and latest.digest == digest:
        return None
    previous = None
    if latest is not None:
        stored = {
            f.name: f.content for f in latest.files.filter(name__in=["metrics.csv", "indicators.csv", "areas.csv"])
        }
        if len(stored) == 3:
            previous = {
                name.removesuffix(".csv"): package.read_table(bytes(content)) for name, content in stored.items()
            }
        else:  # files pruned by hand: say what the package holds rather than guess a difference
            logger.warning("Open data revision %s has no files to compare with; logging a full publication.", latest)
    release = PackageRelease.objects.create(
        number=(latest.number + 1) if latest else 1,
        created_at=timezone.now(),
        digest=digest,
        changes=package.changes_between(previous, contents),
        counts=contents.counts,
        built_by=actor,
    )
    log = list(PackageRelease.objects.order_by("-number"))
    PackageFile.objects.bulk_create(
        PackageFile(
            release=release,
            name=name,
            media_type=media_type,
            content=content,
            sha256=package.sha256(content),
            size=len(content),
        )
        for name, (media_type, content) in package.files(release, contents, log).items()
    )
    PackageFile.objects.filter(release__number__lte=release.number - KEEP_FILES).delete()
    logger.info("Published open data revision %s: %s", release.number, contents.counts)
    return release
