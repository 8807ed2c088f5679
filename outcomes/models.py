"""Outcomes data: the indicator catalogue, populations, submitted values and their imports."""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from outcomes.breakdowns import Breakdown, breakdown_label, group_label
from outcomes.periods import (  # noqa: F401 - the period types and labels, read here and by the app
    FINANCIAL_QUARTER_PATTERN,
    FINANCIAL_QUARTER_SQL_PATTERN,
    MONTH_NAMES,
    PERIOD_PATTERNS,
    PERIOD_SQL_PATTERNS,
    PeriodType,
    financial_quarter_label,
    parse_financial_quarter,
    parse_period,
    period_label,
    previous_period,
)
from stakeholders.models import Area, Organisation

# Every value, population and metric is for all people (both fields empty, the headline) or for
# one group of one breakdown (outcomes.breakdowns); the database holds the two together.
HEADLINE_OR_GROUP = Q(breakdown="", population_group="") | (~Q(breakdown="") & ~Q(population_group=""))


def _breakdown_fields() -> tuple[models.CharField, models.CharField]:
    return (
        models.CharField(
            max_length=12, blank=True, default="", db_default="", help_text="Blank for all people (the headline)."
        ),
        models.CharField(
            max_length=20, blank=True, default="", db_default="", help_text="The group within the breakdown."
        ),
    )


class Measure(models.TextChoices):
    COUNT = "count", "Count"
    PROPORTION = "proportion", "Proportion (%)"
    RATE = "rate", "Rate per 100,000"
    MEAN = "mean", "Mean"


class Polarity(models.TextChoices):
    HIGHER_BETTER = "higher", "Higher is better"
    LOWER_BETTER = "lower", "Lower is better"
    NO_JUDGEMENT = "none", "No judgement"


@pghistory.track()
class Indicator(models.Model):
    """A measure of mental-health outcomes, with how to count it and which way is better."""

    code = models.SlugField(
        max_length=40, unique=True, help_text="Stable short code used in uploads, e.g. iapt-recovery."
    )
    name = models.CharField(max_length=200)
    definition = models.TextField()
    rationale = models.TextField(blank=True)
    measure = models.CharField(max_length=12, choices=Measure.choices)
    numerator_definition = models.TextField(blank=True)
    denominator_definition = models.TextField(blank=True, help_text="Not used for counts; population for rates.")
    polarity = models.CharField(max_length=8, choices=Polarity.choices, default=Polarity.NO_JUDGEMENT)
    period_type = models.CharField(max_length=8, choices=PeriodType.choices)
    unit = models.CharField(max_length=40, blank=True, help_text="e.g. people, %, per 100,000, score")
    data_source = models.CharField(max_length=200, blank=True)
    financial_quarters = models.BooleanField(
        "financial quarters",
        default=False,
        help_text="Quarterly indicators only: report by NHS financial quarter (2025-26 Q1 is April to June 2025).",
    )
    breakdowns = ArrayField(
        models.CharField(max_length=12, choices=Breakdown.choices),
        blank=True,
        default=list,
        help_text="The population groups its values may be split by (outcomes.breakdowns).",
    )
    age_bands = ArrayField(
        models.CharField(max_length=10),
        blank=True,
        default=list,
        help_text='Its age bands, youngest first, e.g. "0-17", "18-64", "65+" (when it accepts the age breakdown).',
    )
    is_active = models.BooleanField(default=True)
    is_synthetic_demo = models.BooleanField(default=False, help_text="Demo indicator with synthetic values.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_catalogue", "Can manage the indicator catalogue")]
        constraints = [
            models.CheckConstraint(
                name="indicator_financial_quarters_are_quarters",
                condition=Q(financial_quarters=False) | Q(period_type="quarter"),
                violation_error_message="Only an indicator reported by quarter can use financial quarters.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("indicator_detail", args=[self.code])

    @property
    def needs_denominator(self) -> bool:
        """Proportions and means are submitted with a denominator; rates use populations."""
        return self.measure in (Measure.PROPORTION, Measure.MEAN)

    @property
    def allows_decimals(self) -> bool:
        return self.measure == Measure.MEAN

    @property
    def period_kind(self) -> str:
        """How its periods are written: month, quarter, fquarter (financial quarter) or year."""
        return "fquarter" if self.financial_quarters and self.period_type == PeriodType.QUARTER else self.period_type

    @property
    def period_kind_display(self) -> str:
        return "financial quarter" if self.period_kind == "fquarter" else self.get_period_type_display().lower()

    def period_label(self, start: dt.date) -> str:
        """The period's name as this indicator's periods are written (2026-04, 2026-Q1, 2025-26 Q1, 2026)."""
        if self.period_kind == "fquarter":
            return financial_quarter_label(start)
        return period_label(self.period_type, start)

    def parse_period(self, text: str) -> dt.date | None:
        """The first day of the period written as `text`, as this indicator's periods are written."""
        if self.period_kind == "fquarter":
            return parse_financial_quarter(text)
        return parse_period(self.period_type, text.strip().upper())

    def period_description(self, start: dt.date) -> str:
        """The label and the months it covers: "2025-26 Q1 (April to June 2025)"."""
        label = self.period_label(start)
        if self.period_type == PeriodType.MONTH:
            return f"{label} ({MONTH_NAMES[start.month - 1]} {start.year})"
        if self.period_type == PeriodType.QUARTER:
            last = MONTH_NAMES[start.month + 1]
            return f"{label} ({MONTH_NAMES[start.month - 1]} to {last} {start.year})"
        return f"{label} (January to December {start.year})"


@pghistory.track()
class PriorityArea(models.Model):
    """What an action improves (crisis care, early help, children and young people...).

    The second dimension beside the plan of action's nine key steps (how London works together):
    an editable list kept by staff in the admin, with history. Indicators are grouped by
    priority area on the dashboards. A retired area (not active) stays on the actions, evidence
    and indicators that name it but is no longer offered for new ones.
    """

    slug = models.SlugField(max_length=60, unique=True, help_text="Stable short name used in links and the API.")
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, help_text="What it covers, in a sentence or two.")
    ordering = models.PositiveSmallIntegerField(default=0, help_text="Lists show lower numbers first.")
    is_active = models.BooleanField("in use", default=True, help_text="Offered for new actions and evidence.")
    indicators = models.ManyToManyField(
        Indicator,
        related_name="priority_areas",
        blank=True,
        verbose_name="indicators",
        help_text="The indicators that measure it.",
    )

    class Meta:
        ordering = ["ordering", "name"]
        verbose_name = "priority area"

    def __str__(self) -> str:
        return self.name


class Population(models.Model):
    """Residents of an area in a year, the denominator of rates per 100,000."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="populations")
    year = models.PositiveSmallIntegerField()
    breakdown, population_group = _breakdown_fields()
    population = models.PositiveIntegerField()
    source = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["area__name", "year", "breakdown", "population_group"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "year", "breakdown", "population_group"], name="population_one_per_area_year_group"
            ),
            models.CheckConstraint(name="population_headline_or_group", condition=HEADLINE_OR_GROUP),
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.year}: {self.population}"


class Door(models.TextChoices):
    FORM = "form", "Web form"
    CSV = "csv", "CSV upload"
    API = "api", "API"


class Submission(models.Model):
    """One upload, form save or API post: what came in, what happened to each row."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Processing"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"  # nothing written (file unreadable, or atomic with errors)
        FAILED = "failed", "Failed"  # an unexpected error; nothing written

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="submissions", help_text="Default submitting organisation."
    )
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions")
    door = models.CharField(max_length=4, choices=Door.choices)
    filename = models.CharField(max_length=255, blank=True)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the uploaded bytes.")
    size_bytes = models.BigIntegerField(default=0)
    dry_run = models.BooleanField(default=False)
    atomic = models.BooleanField(default=False, help_text="All rows or none.")
    amend_approved = models.BooleanField(default=False, help_text="May change approved values.")
    trial_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="submitted_as",
        help_text="The trial run whose stored file this submission saved (the one-button submit).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text="A file-level problem or summary.")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="submission_org_recent")]

    def __str__(self) -> str:
        return f"Submission {self.pk} ({self.get_door_display()}, {self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("submission_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.REJECTED, self.Status.FAILED)

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class TrialFile(models.Model):
    """The bytes of a CSV trial run, kept so that one button can submit the same file.

    Only a trial run's file is kept, for OUTCOMES_TRIAL_KEEP_HOURS; submitting it deletes it
    (so it is submitted once). A separate table, so that reading submissions never reads files.
    """

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, primary_key=True, related_name="trial_file")
    content = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Trial file of submission {self.submission_id}"


class IssueCode(models.TextChoices):
    """Stable codes for every problem an import can report (documented in docs/outcomes.md)."""

    # File-level
    EMPTY_FILE = "empty_file", "The file is empty"
    FILE_TOO_LARGE = "file_too_large", "The file is larger than allowed"
    ENCODING = "encoding", "The file is not UTF-8 text"
    DELIMITER = "delimiter", "The file is not comma-separated"
    HEADER_MISSING = "header_missing", "A required column is missing"
    HEADER_DUPLICATE = "header_duplicate", "A column appears twice"
    COLUMN_IGNORED = "column_ignored", "An unknown column was ignored"
    TOO_MANY_ROWS = "too_many_rows", "The file has more rows than allowed"
    CELL_TOO_LONG = "cell_too_long", "A cell is longer than allowed"
    MALFORMED_CSV = "malformed_csv", "The CSV could not be read"
    WRONG_FIELD_COUNT = "wrong_field_count", "The row has a different number of cells from the header"
    # Row-level
    UNKNOWN_INDICATOR = "unknown_indicator", "Unknown indicator code"
    INACTIVE_INDICATOR = "inactive_indicator", "The indicator is no longer collected"
    UNKNOWN_BOROUGH = "unknown_borough", "Unknown borough code"
    UNKNOWN_ORGANISATION = "unknown_organisation", "Unknown organisation"
    ORGANISATION_NOT_ALLOWED = "organisation_not_allowed", "You cannot submit for this organisation"
    BOROUGH_NOT_SERVED = "borough_not_served", "The organisation does not serve this borough"
    PERIOD_MALFORMED = "period_malformed", "The period is not written as 2026-04, 2026-Q1 or 2026"
    PERIOD_WRONG_TYPE = "period_wrong_type", "The period is of the wrong type for the indicator"
    PERIOD_FUTURE = "period_future", "The period has not ended yet"
    NUMERATOR_INVALID = "numerator_invalid", "The numerator is not a non-negative whole number"
    DENOMINATOR_INVALID = "denominator_invalid", "The denominator is not a positive whole number"
    DENOMINATOR_MISSING = "denominator_missing", "The denominator is missing"
    NUMERATOR_ABOVE_DENOMINATOR = "numerator_above_denominator", "The numerator is above the denominator"
    DUPLICATE_KEY = "duplicate_key", "The same value appears twice in this submission"
    APPROVED_LOCKED = "approved_locked", "The value has been approved and is locked"
    FORMULA = "formula_like", "A cell starts like a spreadsheet formula"
    NOTE_TOO_LONG = "note_too_long", "The note is longer than 1,000 characters"
    UNKNOWN_BREAKDOWN = "unknown_breakdown", "Unknown breakdown"
    UNKNOWN_GROUP = "unknown_group", "Unknown group for the breakdown"
    BREAKDOWN_NOT_ACCEPTED = "breakdown_not_accepted", "The indicator does not accept this breakdown"
    GROUP_WITHOUT_BREAKDOWN = "group_without_breakdown", "A group is given without its breakdown"
    BREAKDOWN_WITHOUT_GROUP = "breakdown_without_group", "A breakdown is given without a group"
    GROUPS_ABOVE_TOTAL = "groups_above_total", "The groups add up to more than the all-people total"
    # Warnings
    OUTLIER = "outlier", "The value is unusual for this provider and borough"


class SubmissionIssue(models.Model):
    """A problem with one row (or the whole file when row_number is null)."""

    class Severity(models.TextChoices):
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="issues")
    row_number = models.PositiveIntegerField(null=True, blank=True, help_text="Line in the file (header is 1).")
    column = models.CharField(max_length=40, blank=True)
    code = models.CharField(max_length=40, choices=IssueCode.choices)
    message = models.TextField()
    severity = models.CharField(max_length=7, choices=Severity.choices, default=Severity.ERROR)

    class Meta:
        ordering = ["submission", "row_number", "pk"]
        indexes = [models.Index(fields=["submission", "severity", "row_number"], name="issue_by_submission")]

    def __str__(self) -> str:
        where = f"row {self.row_number}" if self.row_number else "file"
        return f"{where}: {self.code}"


class ValueStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    QUERIED = "queried", "Queried"
    REJECTED = "rejected", "Rejected"


# Review transitions a commissioner may make (a new submission always returns a value to submitted).
REVIEW_TRANSITIONS: dict[str, set[str]] = {
    ValueStatus.SUBMITTED: {ValueStatus.APPROVED, ValueStatus.QUERIED, ValueStatus.REJECTED},
    ValueStatus.QUERIED: {ValueStatus.APPROVED, ValueStatus.REJECTED},
    ValueStatus.APPROVED: set(),
    ValueStatus.REJECTED: set(),
}


@pghistory.track(
    # Each change records the row as it was before it (row=Old): with the current row in the
    # table, every version is kept, although inserts (millions, by bulk import) are not tracked.
    pghistory.UpdateEvent(
        "changed",
        condition=pghistory.AnyChange("numerator", "denominator", "status", "note", "query_message"),
        row=pghistory.Old,
    ),
    pghistory.DeleteEvent("deleted"),
)
class OutcomeValue(models.Model):
    """One provider's figure for one indicator, borough and period.

    The natural key (organisation, indicator, borough, period_start) is unique; imports
    upsert on it. History (pghistory) records, at every change, the version it replaces.
    Who submitted is the submission's `submitted_by`, so a bulk import writes no per-row
    user column.

    The foreign keys have no database constraint: per-row foreign-key triggers cost more than
    all the rest of a large import (docs/performance.md). The import resolves every id by a
    join to its table in the writing transaction, reviews set the reviewer from the signed-in
    user, and Django's PROTECT (with indicators retired, never deleted) keeps the referenced
    rows. Organisation and indicator need no index of their own: the natural key and
    value_by_cell lead with them.
    """

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="outcome_values",
        db_constraint=False,
        db_index=False,
    )
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, related_name="values", db_constraint=False, db_index=False
    )
    borough = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="outcome_values", db_constraint=False)
    period_start = models.DateField()
    breakdown, population_group = _breakdown_fields()
    numerator = models.DecimalField(max_digits=18, decimal_places=4)
    denominator = models.BigIntegerField(null=True, blank=True)
    note = models.CharField(max_length=1000, blank=True, default="")
    status = models.CharField(max_length=10, choices=ValueStatus.choices, default=ValueStatus.SUBMITTED)
    query_message = models.TextField(
        blank=True, default="", help_text="The reviewer's reason, for a queried or rejected value."
    )
    submission = models.ForeignKey(
        Submission,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Last change.",
        db_constraint=False,
        db_index=False,
    )
    submitted_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # indexed where set only (Meta.indexes): imports write NULL
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Where two organisations (an ICB and a council) commission a borough, either may review
    # its values: the first decision stands and the value shows who made it, for which one.
    reviewed_for = models.ForeignKey(
        "stakeholders.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
        help_text="The commissioning organisation the reviewer acted for.",
    )

    class Meta:
        ordering = ["indicator", "period_start", "borough", "organisation"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "indicator", "borough", "period_start", "breakdown", "population_group"],
                name="outcome_value_natural_key",
            ),
            models.CheckConstraint(name="outcome_value_headline_or_group", condition=HEADLINE_OR_GROUP),
            models.CheckConstraint(name="outcome_value_non_negative", condition=Q(numerator__gte=0)),
            models.CheckConstraint(
                name="outcome_value_positive_denominator", condition=Q(denominator__isnull=True) | Q(denominator__gt=0)
            ),
        ]
        indexes = [
            models.Index(fields=["indicator", "period_start"], name="value_by_cell"),
            models.Index(fields=["reviewed_by"], name="value_reviewed_by", condition=Q(reviewed_by__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.borough.short_code} {self.period_start}: {self.numerator}"

    @property
    def period(self) -> str:
        return self.indicator.period_label(self.period_start)

    @property
    def group_label(self) -> str:
        """ "All people" for the headline, else the breakdown and group as people read them."""
        if not self.breakdown:
            return group_label("", "")
        return f"{breakdown_label(self.breakdown)}: {group_label(self.breakdown, self.population_group)}"


class MetricQuerySet(models.QuerySet["Metric"]):
    def of_basis(self, basis: str) -> MetricQuerySet:
        """The rows that give the figures on one basis, each annotated `read_as` = that basis.

        The provisional figures are the provisional rows and the approved rows marked
        `also_provisional` (where no submitted value changes anything, one row serves both).
        """
        rows = Q(basis=basis)
        if basis == Metric.Basis.PROVISIONAL:
            rows |= Q(basis=Metric.Basis.APPROVED, also_provisional=True)
        return self.filter(rows).annotate(read_as=models.Value(basis, output_field=models.CharField()))


class HeadlineManager(models.Manager.from_queryset(MetricQuerySet)):  # type: ignore[misc]
    """All-people figures only: what every page and download read unless it asks for groups."""

    def get_queryset(self) -> MetricQuerySet:
        return super().get_queryset().filter(breakdown="", population_group="")


def basis_sql(alias: str, param: str) -> str:
    """The SQL condition of MetricQuerySet.of_basis on table `alias`, the basis in parameter `param`."""
    return (
        f"({alias}.basis = %({param})s OR (%({param})s = 'provisional' AND {alias}.basis = 'approved'"
        f" AND {alias}.also_provisional))"
    )


class Metric(models.Model):
    """An indicator's figure for one area (borough, ICS sub-region or London) and period.

    Built only by outcomes.aggregation from outcome values, in two bases: `approved`
    (published figures) and `provisional` (approved and submitted values). Where the two would
    be the same row in every figure, only the approved row is stored, marked `also_provisional`:
    read a basis through `Metric.objects.of_basis()`, never by filtering `basis` alone. The
    stored numbers are unsuppressed; every public output applies disclosure control
    (outcomes.statistics) using `suppressed` and rounding.
    """

    class Basis(models.TextChoices):
        APPROVED = "approved", "Approved values"
        PROVISIONAL = "provisional", "Including submitted values (provisional)"

    # No database foreign keys nor their indexes (migration 0006): Metric is derived, written only by
    # outcomes.aggregation from ids it has just read, and the nightly rebuild writes every row, where
    # per-row deferred foreign-key triggers cost more than the rest of the write. Django's CASCADE
    # still removes an indicator's or an area's metrics; the natural key leads with the indicator.
    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="metrics", db_constraint=False, db_index=False
    )
    area = models.ForeignKey(
        Area, on_delete=models.CASCADE, related_name="metrics", db_constraint=False, db_index=False
    )
    period_start = models.DateField()
    basis = models.CharField(max_length=12, choices=Basis.choices)
    breakdown, population_group = _breakdown_fields()
    numerator = models.DecimalField(max_digits=20, decimal_places=4)
    denominator = models.BigIntegerField(null=True, blank=True)
    population = models.PositiveIntegerField(null=True, blank=True)
    providers = models.PositiveIntegerField(default=0)
    value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    lower95 = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    upper95 = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    lower998 = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    upper998 = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    suppressed = models.BooleanField(default=False)
    secondary_suppressed = models.BooleanField(
        default=False, help_text="Hidden to protect a suppressed borough (outcomes.statistics.secondary_suppression)."
    )
    # A headline row is compared with London; a group's row with the same area's all-people figure.
    comparison = models.CharField(max_length=16, default="not_compared")
    quintile = models.PositiveSmallIntegerField(null=True, blank=True)
    trend = models.CharField(
        max_length=12,
        blank=True,
        default="",
        help_text="Over the last five periods: increasing, decreasing, no_change, or blank (not calculated).",
    )
    also_provisional = models.BooleanField(
        default=False,
        db_default=False,
        help_text="An approved row that is also the provisional one: no submitted value changes any of its figures.",
    )
    computed_at = models.DateTimeField()

    objects = HeadlineManager()  # all-people rows: the headline
    with_groups = MetricQuerySet.as_manager()  # every row, groups included

    class Meta:
        ordering = ["indicator", "period_start", "area"]
        # One index besides the primary key (migration 0007): the natural key, in cell order, serves
        # every recompute (by indicator and period) and a series read (one indicator's rows), and
        # the nightly rebuild builds one index fewer.
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period_start", "area", "basis", "breakdown", "population_group"],
                name="metric_natural_key",
            ),
            models.CheckConstraint(name="metric_headline_or_group", condition=HEADLINE_OR_GROUP),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.area.short_code} {self.period_start} ({self.basis}): {self.value}"

    @property
    def basis_shown(self) -> str:
        """The basis the row was read as (of_basis), else its own."""
        return getattr(self, "read_as", None) or self.basis


class InequalityMetric(models.Model):
    """The gap between an area's groups for one breakdown, indicator, period and basis.

    Built by outcomes.aggregation beside the group metrics it summarises: the best and worst
    group shown (by the indicator's polarity; for "no judgement", highest and lowest), the gap
    between them (worst minus best, in the indicator's unit) and their ratio; for the deprivation
    breakdown, the slope and relative index of inequality with 95% limits (docs/statistics.md).
    Only groups whose figures are published take part, so a hidden group's figure cannot be
    worked out from a gap; `groups_compared` says how many did, and `suppressed` is set when
    fewer than two could.
    """

    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="inequalities", db_constraint=False, db_index=False
    )
    area = models.ForeignKey(
        Area, on_delete=models.CASCADE, related_name="inequalities", db_constraint=False, db_index=False
    )
    period_start = models.DateField()
    basis = models.CharField(max_length=12, choices=Metric.Basis.choices)
    breakdown = models.CharField(max_length=12, choices=Breakdown.choices)
    groups_compared = models.PositiveSmallIntegerField(default=0)
    suppressed = models.BooleanField(default=False, help_text="Fewer than two groups' figures are published.")
    best_group = models.CharField(max_length=20, blank=True, default="")
    worst_group = models.CharField(max_length=20, blank=True, default="")
    best_value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    worst_value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    gap = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    ratio = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    sii = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    sii_lower95 = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    sii_upper95 = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    rii = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    rii_lower95 = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    rii_upper95 = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["indicator", "period_start", "area", "breakdown"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period_start", "area", "basis", "breakdown"], name="inequality_natural_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.area.short_code} {self.period_start} {self.breakdown}: gap {self.gap}"
