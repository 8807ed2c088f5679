"""The public figures as a Frictionless Data Package: what it holds, how it is written, what changed.

Every figure comes through the path the anonymous metrics API takes (`/api/v1/metrics/`): the
API's own filter with no parameters (approved basis), `outcomes.dashboards.public_metrics` with
no unsuppressed areas (disclosure control: counts below 5 hidden, others rounded to 5,
secondary suppression, a count's limits and a mean's numerator never published) and the API's
`MetricSerializer`. Whatever rule those apply applies here too, and tests/opendata checks that
the package read back equals the API.

Resources (CSV, UTF-8, comma, header row), each with a Table Schema:

- `metrics.csv`: one row per indicator, area and period. A figure hidden by disclosure control
  is written `*` (the suppression marker, as on the portal's pages); a figure that does not apply
  (a count's denominator, a mean's numerator, a count's limits) or is not calculated is empty.
  Both are missing values of the schema.
- `indicators.csv`: the indicator catalogue with definitions and units.
- `areas.csv`: London, its five ICS sub-regions and the 33 boroughs, with GSS codes.
- `revisions.csv`: the revision log, one row per change of every revision.

The descriptor (`datapackage.json`) states the licence (Open Government Licence v3.0).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.urls import reverse

from outcomes import dashboards
from outcomes.api import MetricFilter, MetricSerializer, MetricViewSet
from outcomes.api import public_metric_rows as api_rows
from outcomes.models import Indicator, Measure, Metric, PeriodType, Polarity
from outcomes.statistics import Comparison
from stakeholders.models import Area, AreaLevel

SUPPRESSED = dashboards.SUPPRESSED_TEXT  # "*"
MISSING_VALUES = ["", SUPPRESSED]
CHUNK = 2000  # metric rows read and serialised at a time

LICENCE = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}
PACKAGE_NAME = "london-mental-health-public-figures"
ZIP_NAME = "london-mental-health-open-data.zip"

# The unit of an indicator's value, by measure (an indicator may name its own unit too).
MEASURE_UNITS = {
    Measure.COUNT: "count",
    Measure.PROPORTION: "percent",
    Measure.RATE: "per 100,000 population",
    Measure.MEAN: "mean score",
}

# The figures of a metric row that a revision compares (names and labels are not figures).
FIGURE_COLUMNS = (
    "numerator",
    "denominator",
    "value",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "suppressed",
    "comparison",
    "quintile",
    "trend",
    "providers",
)


def _field(name: str, type_: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "description": description, **extra}


def _required(name: str, type_: str, description: str, **extra: Any) -> dict[str, Any]:
    constraints = {"required": True, **extra.pop("constraints", {})}
    return _field(name, type_, description, constraints=constraints, **extra)


def _boolean(name: str, description: str) -> dict[str, Any]:
    return _required(name, "boolean", description, trueValues=["true"], falseValues=["false"])


def _enum(values: Iterable[str]) -> dict[str, Any]:
    return {"enum": list(values)}


HIDDEN = f"`{SUPPRESSED}` when hidden by disclosure control"

METRIC_FIELDS: list[dict[str, Any]] = [
    _required("indicator", "string", "Indicator code (indicators.code)."),
    _field("indicator_name", "string", "The indicator's name, for reading in a spreadsheet."),
    _required("area", "string", "ONS GSS code of the borough, ICS sub-region or London (areas.code)."),
    _field("area_name", "string", "The area's name."),
    _required("area_level", "string", "borough, sub_region or london.", constraints=_enum(AreaLevel.values)),
    _required("period", "string", "2026-04 (month), 2026-Q1 (quarter) or 2026 (year), by the indicator."),
    _required("period_start", "date", "First day of the period.", format="default"),
    _field(
        "numerator",
        "integer",
        f"Events or people counted, rounded to the nearest 5; {HIDDEN} (below 5); empty for means"
        " (a sum of scores is never published).",
        constraints={"minimum": 0},
    ),
    _field(
        "denominator",
        "integer",
        f"People in the denominator (proportions and means), rounded to the nearest 5; {HIDDEN};"
        " empty where the measure has none.",
        constraints={"minimum": 0},
    ),
    _field(
        "value",
        "number",
        "The figure, in the indicator's unit (indicators.unit): a percentage, a rate per 100,000, a"
        f" mean or a count (rounded to the nearest 5); {HIDDEN}.",
        unit="indicators.unit",
    ),
    _field("lower95", "number", f"Lower 95% confidence limit; {HIDDEN}; empty for counts.", unit="indicators.unit"),
    _field("upper95", "number", f"Upper 95% confidence limit; {HIDDEN}; empty for counts.", unit="indicators.unit"),
    _field("lower998", "number", f"Lower 99.8% confidence limit; {HIDDEN}.", unit="indicators.unit"),
    _field("upper998", "number", f"Upper 99.8% confidence limit; {HIDDEN}.", unit="indicators.unit"),
    _boolean("suppressed", "true when the value is hidden by disclosure control."),
    _required(
        "comparison",
        "string",
        "With London, through the 95% and 99.8% limits; not_compared for counts, London and hidden values.",
        constraints=_enum(c.value for c in Comparison),
    ),
    _field("comparison_label", "string", "The comparison in words."),
    _field(
        "quintile",
        "integer",
        "Among boroughs, 1 best (or highest, with no judgement) to 5; empty for counts.",
        constraints={"minimum": 1, "maximum": 5},
    ),
    _field(
        "trend",
        "string",
        "Significant trend over the five periods ending here; empty when not calculated.",
        constraints=_enum(dashboards.TRENDS),
    ),
    _field("trend_label", "string", "The trend in words, through the indicator's polarity."),
    _required("providers", "integer", "Provider organisations whose values are counted.", constraints={"minimum": 0}),
]
METRIC_COLUMNS = [f["name"] for f in METRIC_FIELDS]

INDICATOR_FIELDS: list[dict[str, Any]] = [
    _required("code", "string", "Stable code of the indicator.", constraints={"unique": True}),
    _required("name", "string", "Name."),
    _field("definition", "string", "What it measures."),
    _field("rationale", "string", "Why it matters."),
    _required("measure", "string", "count, proportion, rate or mean.", constraints=_enum(Measure.values)),
    _required("unit", "string", "The unit of its values (metrics.value and the limits)."),
    _field("numerator_definition", "string", "What the numerator counts."),
    _field("denominator_definition", "string", "What the denominator counts (population for rates)."),
    _required(
        "polarity",
        "string",
        "higher (higher is better), lower (lower is better) or none (no judgement).",
        constraints=_enum(Polarity.values),
    ),
    _required("period_type", "string", "month, quarter or year.", constraints=_enum(PeriodType.values)),
    _field("data_source", "string", "Where the values come from."),
    _field("priority_areas", "string", "Slugs of the priority areas it measures, separated by semicolons."),
    _boolean("is_active", "false for an indicator no longer collected (its figures stay published)."),
    _boolean("synthetic_demo", "true for a demonstration indicator with invented values."),
]

AREA_FIELDS: list[dict[str, Any]] = [
    _required("code", "string", "ONS GSS code.", constraints={"unique": True, "pattern": "E[0-9]{8}"}),
    _required("short_code", "string", "Three-letter short code used on the portal's map."),
    _required("name", "string", "Name."),
    _required("level", "string", "london, sub_region or borough.", constraints=_enum(AreaLevel.values)),
    _field("parent", "string", "GSS code of the ICS sub-region (boroughs) or of London (sub-regions)."),
    _field("inner_london", "boolean", "Boroughs: in inner London.", trueValues=["true"], falseValues=["false"]),
    _field("population", "integer", "Usual residents (Census 2021).", constraints={"minimum": 0}),
]

CHANGE_KINDS = {
    "first_publication": "First publication of the package",
    "indicator_added": "Indicator added",
    "indicator_removed": "Indicator removed",
    "indicator_changed": "Indicator's definition changed",
    "periods_added": "Periods added",
    "periods_removed": "Periods withdrawn",
    "figures_revised": "Figures revised",
    "areas_changed": "Areas changed",
}

REVISION_FIELDS: list[dict[str, Any]] = [
    _required("revision", "integer", "Revision number of the package (its version is 1.<revision>.0)."),
    _required("published", "datetime", "When the revision was published (UTC)."),
    _required("change", "string", "What changed.", constraints=_enum(CHANGE_KINDS)),
    _field("indicator", "string", "The indicator it concerns (indicators.code), if one."),
    _field("periods", "string", "The periods it concerns, separated by semicolons."),
    _field("areas", "integer", "How many areas' figures changed (figures_revised)."),
    _required("description", "string", "The change in words."),
]


@dataclass(frozen=True)
class Table:
    """One CSV resource as text cells."""

    name: str
    columns: Sequence[str]
    rows: list[list[str]]

    def csv_bytes(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue().encode("utf-8")


# Reading the public figures ----------------------------------------------------------------


def public_metric_queryset() -> Any:
    """The rows `/api/v1/metrics/` lists to an anonymous caller who gives no parameters, in its order."""
    view = MetricViewSet()
    return MetricFilter(data=QueryDict(), queryset=view.get_queryset()).qs


def public_metric_rows() -> Iterator[dict[str, Any]]:
    """Every published metric as the metrics API serialises it (hidden figures are None)."""
    chunk: list[Metric] = []
    for metric in public_metric_queryset().iterator(chunk_size=CHUNK):
        chunk.append(metric)
        if len(chunk) == CHUNK:
            yield from _serialised(chunk)
            chunk = []
    yield from _serialised(chunk)


def _serialised(metrics: list[Metric]) -> list[dict[str, Any]]:
    return list(MetricSerializer(api_rows(metrics), many=True).data)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return str(value)


# Which columns a measure publishes (others are empty, not suppressed).
_APPLIES = {
    "numerator": lambda m: m != Measure.MEAN,
    "denominator": lambda m: m in (Measure.PROPORTION, Measure.MEAN),
    "value": lambda m: True,
    "lower95": lambda m: m in (Measure.PROPORTION, Measure.RATE),
    "upper95": lambda m: m in (Measure.PROPORTION, Measure.RATE),
    "lower998": lambda m: m in (Measure.PROPORTION, Measure.RATE),
    "upper998": lambda m: m in (Measure.PROPORTION, Measure.RATE),
}


def metric_cells(row: dict[str, Any], measure: str) -> list[str]:
    """A serialised metric as CSV cells: `*` for a figure disclosure control hid, empty where none applies."""
    cells = []
    for column in METRIC_COLUMNS:
        value = row[column]
        if value is None and row["suppressed"] and column in _APPLIES and _APPLIES[column](measure):
            cells.append(SUPPRESSED)
        else:
            cells.append(_text(value))
    return cells


def metrics_table(indicators: dict[str, Indicator]) -> Table:
    rows = [metric_cells(row, indicators[row["indicator"]].measure) for row in public_metric_rows()]
    return Table("metrics", METRIC_COLUMNS, rows)


def indicator_unit(indicator: Indicator) -> str:
    return indicator.unit or MEASURE_UNITS.get(Measure(indicator.measure), "")


def indicators_table(indicators: Iterable[Indicator]) -> Table:
    rows = [
        [
            i.code,
            i.name,
            i.definition,
            i.rationale,
            i.measure,
            indicator_unit(i),
            i.numerator_definition,
            i.denominator_definition,
            i.polarity,
            i.period_type,
            i.data_source,
            ";".join(sorted(p.slug for p in i.priority_areas.all())),
            _text(i.is_active),
            _text(i.is_synthetic_demo),
        ]
        for i in indicators
    ]
    return Table("indicators", [f["name"] for f in INDICATOR_FIELDS], rows)


LEVEL_ORDER = {AreaLevel.LONDON: 0, AreaLevel.SUB_REGION: 1, AreaLevel.BOROUGH: 2}


def areas_table() -> Table:
    areas = sorted(Area.objects.select_related("parent"), key=lambda a: (LEVEL_ORDER.get(a.level, 9), a.name))
    rows = [
        [
            a.code,
            a.short_code,
            a.name,
            a.level,
            a.parent.code if a.parent else "",
            _text(a.inner_london),
            _text(a.population),
        ]
        for a in areas
    ]
    return Table("areas", [f["name"] for f in AREA_FIELDS], rows)


@dataclass(frozen=True)
class Contents:
    """The data of a package (not its dates nor its log): what its digest is taken over."""

    metrics: Table
    indicators: Table
    areas: Table

    @property
    def tables(self) -> tuple[Table, ...]:
        return (self.metrics, self.indicators, self.areas)

    @property
    def digest(self) -> str:
        sha = hashlib.sha256()
        for table in self.tables:
            sha.update(table.name.encode() + b"\0" + table.csv_bytes() + b"\0")
        return sha.hexdigest()

    @property
    def counts(self) -> dict[str, int]:
        return {t.name: len(t.rows) for t in self.tables}


def collect() -> Contents:
    """Read everything the package publishes. Queries: indicators, their priority areas, metrics (in
    chunks), areas."""
    indicators = list(Indicator.objects.prefetch_related("priority_areas").order_by("code"))
    by_code = {i.code: i for i in indicators}
    return Contents(metrics=metrics_table(by_code), indicators=indicators_table(indicators), areas=areas_table())


# What changed between two revisions ---------------------------------------------------------


def read_table(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def _as_dicts(table: Table) -> list[dict[str, str]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def _periods(periods: Iterable[str]) -> str:
    return ";".join(sorted(periods))


def change(kind: str, description: str, *, indicator: str = "", periods: str = "", areas: int | None = None) -> dict:
    return {"change": kind, "indicator": indicator, "periods": periods, "areas": areas, "description": description}


def changes_between(previous: dict[str, list[dict[str, str]]] | None, contents: Contents) -> list[dict[str, Any]]:
    """The revision log's entries for going from `previous` (tables read back as dicts) to `contents`."""
    if previous is None:
        counts = contents.counts
        return [
            change(
                "first_publication",
                f"{counts['metrics']:,} figures of {counts['indicators']:,} indicators for {counts['areas']:,} areas.",
            )
        ]
    entries: list[dict[str, Any]] = []
    old_indicators = {r["code"]: r for r in previous.get("indicators", [])}
    new_indicators = {r["code"]: r for r in _as_dicts(contents.indicators)}
    for code in sorted(new_indicators.keys() - old_indicators.keys()):
        entries.append(change("indicator_added", f"{new_indicators[code]['name']} added.", indicator=code))
    for code in sorted(old_indicators.keys() - new_indicators.keys()):
        entries.append(change("indicator_removed", f"{old_indicators[code]['name']} removed.", indicator=code))
    for code in sorted(old_indicators.keys() & new_indicators.keys()):
        old, new = old_indicators[code], new_indicators[code]
        changed = [name for name in new if name not in ("is_active",) and old.get(name) != new[name]]
        if old.get("is_active") != new["is_active"]:
            changed.append("is_active")
        if changed:
            entries.append(change("indicator_changed", f"{new['name']}: {', '.join(changed)} changed.", indicator=code))

    def cells(rows: Iterable[dict[str, str]]) -> dict[tuple[str, str], dict[str, tuple[str, ...]]]:
        out: dict[tuple[str, str], dict[str, tuple[str, ...]]] = defaultdict(dict)
        for r in rows:
            out[(r["indicator"], r["period"])][r["area"]] = tuple(r.get(c, "") for c in FIGURE_COLUMNS)
        return out

    old_cells = cells(previous.get("metrics", []))
    new_cells = cells(_as_dicts(contents.metrics))
    added: dict[str, list[str]] = defaultdict(list)
    removed: dict[str, list[str]] = defaultdict(list)
    for indicator, period in new_cells.keys() - old_cells.keys():
        added[indicator].append(period)
    for indicator, period in old_cells.keys() - new_cells.keys():
        removed[indicator].append(period)
    for indicator in sorted(added):
        if indicator in new_indicators and indicator not in old_indicators:
            continue  # said by indicator_added
        periods = sorted(added[indicator])
        entries.append(
            change("periods_added", f"{len(periods)} period(s) added.", indicator=indicator, periods=_periods(periods))
        )
    for indicator in sorted(removed):
        periods = sorted(removed[indicator])
        entries.append(
            change(
                "periods_removed",
                f"{len(periods)} period(s) withdrawn.",
                indicator=indicator,
                periods=_periods(periods),
            )
        )
    for key in sorted(old_cells.keys() & new_cells.keys()):
        old, new = old_cells[key], new_cells[key]
        revised = sum(1 for area in old.keys() | new.keys() if old.get(area) != new.get(area))
        if revised:
            entries.append(
                change(
                    "figures_revised",
                    f"Figures of {revised} area(s) revised.",
                    indicator=key[0],
                    periods=key[1],
                    areas=revised,
                )
            )
    if previous.get("areas") != _as_dicts(contents.areas):
        entries.append(change("areas_changed", "Area names, codes or populations changed."))
    return entries


# Writing the package --------------------------------------------------------------------------


def revisions_table(log: Iterable[Any]) -> Table:
    """Every change of every revision, newest revision first (`log`: PackageRelease rows)."""
    rows = []
    for release in log:
        for entry in release.changes:
            rows.append(
                [
                    str(release.number),
                    release.created_at.isoformat(timespec="seconds"),
                    entry["change"],
                    entry.get("indicator", ""),
                    entry.get("periods", ""),
                    _text(entry.get("areas")),
                    entry["description"],
                ]
            )
    return Table("revisions", [f["name"] for f in REVISION_FIELDS], rows)


def _schema(fields: list[dict[str, Any]], **keys: Any) -> dict[str, Any]:
    return {"fields": fields, "missingValues": MISSING_VALUES, **keys}


SCHEMAS: dict[str, dict[str, Any]] = {
    "metrics": _schema(
        METRIC_FIELDS,
        primaryKey=["indicator", "area", "period_start"],
        foreignKeys=[
            {"fields": "indicator", "reference": {"resource": "indicators", "fields": "code"}},
            {"fields": "area", "reference": {"resource": "areas", "fields": "code"}},
        ],
    ),
    "indicators": _schema(INDICATOR_FIELDS, primaryKey=["code"]),
    "areas": _schema(
        AREA_FIELDS,
        primaryKey=["code"],
        foreignKeys=[{"fields": "parent", "reference": {"resource": "", "fields": "code"}}],
    ),
    "revisions": _schema(REVISION_FIELDS),
}

RESOURCE_TITLES = {
    "metrics": (
        "Published figures",
        "Every indicator's approved figure for each borough, ICS sub-region and London, by period, under the"
        f" portal's disclosure control. `{SUPPRESSED}` marks a figure hidden to protect small numbers.",
    ),
    "indicators": ("Indicator catalogue", "What each indicator measures, its unit, polarity and period type."),
    "areas": ("Areas", "London, its five integrated care system (ICS) sub-regions and the 33 boroughs."),
    "revisions": ("Revision log", "What changed in each revision of this package, and when."),
}


def descriptor(release: Any, tables: Sequence[Table]) -> dict[str, Any]:
    """The datapackage.json of a revision (a PackageRelease) holding `tables`."""
    site = settings.SITE_URL.rstrip("/")
    resources = []
    for table in tables:
        title, description = RESOURCE_TITLES[table.name]
        resources.append(
            {
                "name": table.name,
                "path": f"{table.name}.csv",
                "title": title,
                "description": description,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "header": True},
                "schema": SCHEMAS[table.name],
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": PACKAGE_NAME,
        "title": "London mental health: public figures",
        "description": (
            "The approved outcome figures of London's mental-health system published by the London mental health"
            " portal, with the indicator catalogue and the areas. Figures are under disclosure control: counts"
            f" below 5 are hidden (`{SUPPRESSED}`), other counts are rounded to the nearest 5, and a total that"
            " would reveal a hidden borough is hidden too. Methods: the portal's docs/statistics.md."
        ),
        "homepage": site + reverse("opendata_index"),
        "version": release.version,
        "created": release.created_at.isoformat(timespec="seconds"),
        "licenses": [LICENCE],
        "keywords": ["mental health", "London", "NHS", "outcomes", "open data"],
        "sources": [{"title": "London mental health portal", "path": site + "/"}],
        "resources": resources,
    }


def files(release: Any, contents: Contents, log: Iterable[Any]) -> dict[str, tuple[str, bytes]]:
    """Every file of a revision: name -> (media type, bytes); the zip holds all the others."""
    tables = [*contents.tables, revisions_table(log)]
    out: dict[str, tuple[str, bytes]] = {
        "datapackage.json": (
            "application/json",
            (json.dumps(descriptor(release, tables), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        ),
    }
    for table in tables:
        out[f"{table.name}.csv"] = ("text/csv; charset=utf-8", table.csv_bytes())
    buffer = io.BytesIO()
    stamp = release.created_at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, (_, content) in out.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), content, compress_type=zipfile.ZIP_DEFLATED)
    out[ZIP_NAME] = ("application/zip", buffer.getvalue())
    return out


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
