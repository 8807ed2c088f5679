"""The data package of the public figures: valid for Frictionless, equal to the metrics API, logged."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from decimal import Decimal

import pytest
from frictionless import Package, validate

from opendata import package, services
from opendata.models import KEEP_FILES, PackageFile, PackageRelease
from outcomes.aggregation import metrics_recompute_cells
from outcomes.models import Metric
from tests.opendata.conftest import APRIL, JUNE, MAY

pytestmark = pytest.mark.django_db


def _files(release: PackageRelease) -> dict[str, bytes]:
    return {f.name: bytes(f.content) for f in release.files.all()}


def _write(release: PackageRelease, folder) -> None:
    for name, content in _files(release).items():
        (folder / name).write_bytes(content)


def _errors(report) -> list[str]:
    return [f"{task.name}: {error.message}" for task in report.tasks for error in task.errors] + [
        error.message for error in report.errors
    ]


def _metrics_csv(release: PackageRelease) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_files(release)["metrics.csv"].decode())))


def test_the_package_validates_with_frictionless_as_files_and_as_the_zip(figures, tmp_path):
    release = services.package_publish()
    _write(release, tmp_path)
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, _errors(report)
    # Foreign keys were checked, not skipped: every metric row names a known indicator and area.
    assert {task.name for task in report.tasks} == {"metrics", "indicators", "areas", "revisions"}
    assert all(task.stats["rows"] > 0 for task in report.tasks)
    zipped = validate(str(tmp_path / package.ZIP_NAME))
    assert zipped.valid, _errors(zipped)


def test_a_broken_row_would_fail_the_validation(figures, tmp_path):
    # The validator is not a rubber stamp: a metric naming no known area is an error.
    release = services.package_publish()
    _write(release, tmp_path)
    text = (tmp_path / "metrics.csv").read_text()
    (tmp_path / "metrics.csv").write_text(text.replace("E09000007", "E09999999", 1))
    report = validate(str(tmp_path / "datapackage.json"))
    assert not report.valid
    assert any("foreign" in e.lower() for e in _errors(report))


def _api_rows(client) -> list[dict]:
    rows, url = [], "/api/v1/metrics/?page_size=2"  # small pages: paging must not lose rows
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    return rows


def test_the_package_read_back_is_exactly_what_the_metrics_api_publishes(client, figures, tmp_path):
    release = services.package_publish()
    _write(release, tmp_path)
    loaded = Package(str(tmp_path / "datapackage.json")).get_resource("metrics").read_rows()
    api = _api_rows(client)
    assert len(loaded) == len(api) == release.counts["metrics"] > 0
    for row, expected in zip(loaded, api, strict=True):
        for column in package.METRIC_COLUMNS:
            got = row[column]
            if isinstance(got, Decimal):
                got = float(got)
            elif hasattr(got, "isoformat"):
                got = got.isoformat()
            assert got == expected[column] or (got is None and expected[column] in (None, "")), (
                column,
                row,
                expected,
            )


def test_the_package_holds_approved_figures_only_and_hides_what_disclosure_control_hides(figures):
    release = services.package_publish()
    rows = {(r["indicator"], r["area_name"], r["period"]): r for r in _metrics_csv(release)}
    # Barnet has only a submitted value: no figure of it is published.
    assert not any(area == "Barnet" for _, area, _ in rows)
    islington = rows[("od-recovery", "Islington", "2026-05")]
    assert islington["suppressed"] == "true"
    assert islington["value"] == islington["numerator"] == islington["lower95"] == package.SUPPRESSED
    assert islington["denominator"] == "10"  # 12 rounded to the nearest 5
    camden = rows[("od-recovery", "Camden", "2026-05")]
    assert (camden["numerator"], camden["denominator"], camden["value"]) == ("60", "105", "57.1")
    hackney_count = rows[("od-detentions", "Hackney", "2026-05")]
    assert hackney_count["value"] == hackney_count["numerator"] == package.SUPPRESSED
    assert hackney_count["lower95"] == ""  # a count's limits are never published: not applicable
    wellbeing = rows[("od-wellbeing", "Camden", "2026-05")]
    assert wellbeing["numerator"] == ""  # a mean's sum of scores is never published
    # No exact count of a suppressed cell appears anywhere in the file.
    exact = Metric.objects.get(indicator=figures.detentions, area__short_code="HCK", period_start=MAY)
    assert exact.numerator == 2
    assert all(r["numerator"] != "2" for r in rows.values() if r["indicator"] == "od-detentions")


def test_the_descriptor_states_the_licence_keys_units_and_the_suppression_marker(figures):
    release = services.package_publish()
    descriptor = json.loads(_files(release)["datapackage.json"])
    assert descriptor["licenses"] == [package.LICENCE]
    assert descriptor["licenses"][0]["name"] == "OGL-UK-3.0"
    assert descriptor["version"] == "1.1.0"
    metrics = next(r for r in descriptor["resources"] if r["name"] == "metrics")
    assert metrics["schema"]["missingValues"] == ["", "*"]
    assert metrics["schema"]["primaryKey"] == ["indicator", "area", "period_start"]
    assert {fk["reference"]["resource"] for fk in metrics["schema"]["foreignKeys"]} == {"indicators", "areas"}
    indicators = {r["code"]: r for r in csv.DictReader(io.StringIO(_files(release)["indicators.csv"].decode()))}
    assert indicators["od-recovery"]["unit"] == "percent"
    assert indicators["od-wellbeing"]["unit"] == "score"  # the indicator's own unit wins
    areas = list(csv.DictReader(io.StringIO(_files(release)["areas.csv"].decode())))
    camden = next(a for a in areas if a["name"] == "Camden")
    assert camden["code"] == "E09000007" and camden["parent"] == "E54000028"


def test_the_zip_holds_the_descriptor_and_every_resource(figures):
    release = services.package_publish()
    with zipfile.ZipFile(io.BytesIO(_files(release)[package.ZIP_NAME])) as archive:
        assert sorted(archive.namelist()) == sorted(
            ["datapackage.json", "metrics.csv", "indicators.csv", "areas.csv", "revisions.csv"]
        )


def test_a_rebuild_with_the_same_figures_publishes_nothing(figures):
    first = services.package_publish()
    figures.recompute()  # the same values again: the same figures
    assert services.package_publish() is None
    assert list(PackageRelease.objects.values_list("number", flat=True)) == [first.number]
    assert first.changes[0]["change"] == "first_publication"


def test_each_rebuild_logs_revised_figures_added_periods_and_indicators(figures):
    services.package_publish()
    figures.value(figures.recovery, "CMD", APRIL, 80, 103)  # revised after approval
    figures.value(figures.recovery, "CMD", JUNE, 50, 100)  # a new period
    figures.recompute()
    metrics_recompute_cells([(figures.recovery.pk, JUNE.isoformat())])
    second = services.package_publish()
    kinds = {(c["change"], c["indicator"], c["periods"]) for c in second.changes}
    assert ("periods_added", "od-recovery", "2026-06") in kinds
    revised = next(c for c in second.changes if c["change"] == "figures_revised" and c["periods"] == "2026-04")
    # Camden, its sub-region and London changed, and so may the comparison of boroughs with London.
    assert revised["indicator"] == "od-recovery" and revised["areas"] >= 3
    log = list(csv.DictReader(io.StringIO(_files(second)["revisions.csv"].decode())))
    assert {r["revision"] for r in log} == {"1", "2"}
    assert log[0]["revision"] == "2"  # newest first


def test_only_the_newest_revisions_keep_their_files_and_every_revision_stays_in_the_log(figures):
    for n in range(KEEP_FILES + 2):
        figures.value(figures.detentions, "CMD", APRIL, 30 + 10 * n)
        figures.recompute()
        services.package_publish()
    numbers = list(PackageRelease.objects.values_list("number", flat=True))
    assert numbers == list(range(KEEP_FILES + 2, 0, -1))
    kept = set(PackageFile.objects.values_list("release__number", flat=True))
    assert kept == set(numbers[:KEEP_FILES])


def test_staff_may_publish_by_hand_and_others_may_not(figures, commissioner, staff):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.package_publish(actor=commissioner)
    release = services.package_publish(actor=staff)
    assert release.built_by == staff
