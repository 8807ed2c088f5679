"""The import pipeline behind every door (web form, CSV upload, API): stage, validate, upsert.

1. Stage: the file (or the form's / API's rows) is streamed, never held whole, through
   Python's csv reader and COPYed into an UNLOGGED staging table of its own
   (`outcomes_staging_<submission id>`), one text column per CSV column plus the row
   number and any problem the reader found (wrong cell count, formula-like text).
2. Validate, set-based: one CREATE TEMP TABLE ... AS SELECT joins the staged rows to the
   catalogue, boroughs, organisations and existing values, typing every cell with regular
   expressions; one INSERT ... SELECT writes every row problem as a SubmissionIssue with a
   stable code (IssueCode) and the row number.
3. Upsert, set-based: new keys are INSERTed and changed ones UPDATEd in chunks of
   CHUNK_ROWS, publishing progress; unchanged rows are not written at all, so
   re-uploading a file writes nothing. Approved values are locked unless the submission
   says it amends them. With `atomic`, any error means no value is written.
4. The touched (indicator, period) cells are returned for aggregation (dashboards).

Small submissions run in the request; larger ones (over OUTCOMES_ASYNC_ROWS) are staged
in the request and validated and written by a Celery task, with progress in the cache.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from outcomes.models import (
    PERIOD_SQL_PATTERNS,
    IssueCode,
    PeriodType,
    Submission,
    SubmissionIssue,
    ValueStatus,
)

REQUIRED_COLUMNS = ("indicator_code", "borough_code", "period", "numerator", "denominator")
OPTIONAL_COLUMNS = ("note", "organisation")
ALL_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
FORMULA_PREFIXES = ("=", "+", "@", "\t", "\r")
MAX_CELL_CHARS = 10_000
MAX_NOTE_CHARS = 1000
CHUNK_ROWS = 100_000


class FileRejected(Exception):
    """The whole file cannot be read: nothing is imported."""

    def __init__(self, code: str, message: str, row_number: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row_number = row_number


@dataclass
class StageResult:
    total_rows: int = 0
    size_bytes: int = 0
    checksum: str = ""
    warnings: list[tuple[str, str, str]] = field(default_factory=list)  # (code, column, message)


def staging_table(submission_id: int) -> sql.Identifier:
    return sql.Identifier(f"outcomes_staging_{int(submission_id)}")


def progress_key(submission_id: int) -> str:
    return f"outcomes:submission-progress:{submission_id}"


def publish_progress(submission_id: int, done: int, stage: str) -> None:
    cache.set(progress_key(submission_id), {"done": done, "stage": stage}, timeout=60 * 60 * 6)


def read_progress(submission_id: int) -> dict[str, Any] | None:
    return cache.get(progress_key(submission_id))


# Stage ---------------------------------------------------------------------------------


class _HashingReader(io.RawIOBase):
    """Wraps a binary stream, counting and hashing bytes as they are read, with a size cap."""

    def __init__(self, raw: IO[bytes], max_bytes: int) -> None:
        self.raw = raw
        self.max_bytes = max_bytes
        self.size = 0
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        if not data:
            return 0
        self.size += len(data)
        if self.size > self.max_bytes:
            raise FileRejected("file_too_large", f"The file is larger than {self.max_bytes:,} bytes.")
        self.sha.update(data)
        buffer[: len(data)] = data
        return len(data)


class _CopySource:
    """A file-like object that psycopg2's copy_expert reads, fed by a generator of CSV lines."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.buffer = ""

    def read(self, size: int = -1) -> str:
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer += next(self.lines)
            except StopIteration:
                break
        if size < 0:
            out, self.buffer = self.buffer, ""
        else:
            out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    readline = read


def _header(raw_header: list[str]) -> tuple[list[str], list[tuple[str, str, str]]]:
    names = [h.strip().lower().lstrip("\ufeff") for h in raw_header]
    if len(names) == 1 and ";" in names[0]:
        raise FileRejected(
            IssueCode.DELIMITER, "The file uses semicolons between cells. Save it as comma-separated (CSV UTF-8).", 1
        )
    if len(names) == 1 and "\t" in names[0]:
        raise FileRejected(IssueCode.DELIMITER, "The file uses tabs between cells. Save it as comma-separated.", 1)
    seen: set[str] = set()
    for name in names:
        if name in seen and name in ALL_COLUMNS:
            raise FileRejected(IssueCode.HEADER_DUPLICATE, f"The column '{name}' appears twice in the header.", 1)
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FileRejected(
            IssueCode.HEADER_MISSING,
            "Missing column"
            + ("s" if len(missing) > 1 else "")
            + ": "
            + ", ".join(missing)
            + ". The first row must name the columns: "
            + ", ".join(ALL_COLUMNS)
            + " (note and organisation optional).",
            1,
        )
    warnings = [
        (IssueCode.COLUMN_IGNORED, name, f"The column '{name}' is not used and was ignored.")
        for name in names
        if name and name not in ALL_COLUMNS
    ]
    return names, warnings


def _staged_lines(
    records: Iterator[list[str]], names: list[str], submission_id: int, max_rows: int, result: StageResult
) -> Iterator[str]:
    """CSV lines for COPY: row_number, the seven text columns, and any parse problem."""
    positions = [names.index(c) if c in names else None for c in ALL_COLUMNS]
    width = len(names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    row_number = 1
    count = 0
    for record in records:
        row_number += 1
        if not record or all(not cell.strip() for cell in record):
            continue  # blank lines are skipped
        count += 1
        if count > max_rows:
            raise FileRejected(
                IssueCode.TOO_MANY_ROWS,
                f"The file has more than {max_rows:,} rows. Split it into smaller files.",
                row_number,
            )
        problem_code = problem_column = problem = ""
        if len(record) != width:
            problem_code = IssueCode.WRONG_FIELD_COUNT
            problem = f"The row has {len(record)} cells but the header has {width}."
        cells = [record[p].strip() if p is not None and p < len(record) else "" for p in positions]
        if not problem_code:
            for column, cell in zip(ALL_COLUMNS, cells, strict=True):
                if cell.startswith(FORMULA_PREFIXES):
                    problem_code, problem_column = IssueCode.FORMULA, column
                    problem = f"'{cell[:40]}' looks like a spreadsheet formula. Enter the value itself."
                    break
        writer.writerow([row_number, *cells, problem_code, problem_column, problem])
        if count % 50_000 == 0:
            publish_progress(submission_id, 0, f"reading: {count:,} rows")
        if out.tell() > 65536:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    result.total_rows = count
    yield out.getvalue()


def stage_csv(submission: Submission, stream: IO[bytes]) -> StageResult:
    """Stream a CSV file into the submission's staging table. Raises FileRejected."""
    result = StageResult()
    hashing = _HashingReader(stream, settings.OUTCOMES_MAX_UPLOAD_BYTES)
    buffered = io.BufferedReader(hashing, buffer_size=1 << 16)
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
    previous_limit = csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(text)
    try:
        try:
            raw_header = next(reader)
        except StopIteration:
            raise FileRejected(
                IssueCode.EMPTY_FILE, "The file is empty. Download the template to see the columns.", None
            ) from None
        names, result.warnings = _header(raw_header)
        _copy_into_staging(
            submission.pk, _staged_lines(reader, names, submission.pk, settings.OUTCOMES_MAX_ROWS, result)
        )
    except UnicodeDecodeError:
        raise FileRejected(
            IssueCode.ENCODING,
            f"The file is not UTF-8 text (a problem near row {reader.line_num + 1}). "
            "Save it as 'CSV UTF-8' from your spreadsheet program.",
            reader.line_num + 1,
        ) from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise FileRejected(
                IssueCode.CELL_TOO_LONG,
                f"Row {reader.line_num} has a cell longer than {MAX_CELL_CHARS:,} characters.",
                reader.line_num,
            ) from None
        raise FileRejected(
            IssueCode.MALFORMED_CSV, f"The CSV could not be read near row {reader.line_num}: {exc}.", reader.line_num
        ) from None
    finally:
        csv.field_size_limit(previous_limit)
    # Read any bytes after the last record so the checksum covers the whole file.
    while hashing.read(1 << 16):
        pass
    result.size_bytes = hashing.size
    result.checksum = hashing.sha.hexdigest()
    if result.total_rows == 0:
        raise FileRejected(IssueCode.EMPTY_FILE, "The file has a header but no data rows.", None)
    return result


def stage_rows(submission: Submission, rows: Iterable[dict[str, Any]]) -> StageResult:
    """Stage rows given as dicts (the web form and JSON API). Same checks as a CSV file."""
    result = StageResult()
    sha = hashlib.sha256()

    def records() -> Iterator[list[str]]:
        for row in rows:
            cells = ["" if row.get(c) is None else str(row.get(c)) for c in ALL_COLUMNS]
            sha.update(("\x1f".join(cells) + "\n").encode())
            yield cells

    _copy_into_staging(
        submission.pk, _staged_lines(records(), list(ALL_COLUMNS), submission.pk, settings.OUTCOMES_MAX_ROWS, result)
    )
    result.checksum = sha.hexdigest()
    if result.total_rows == 0:
        raise FileRejected(IssueCode.EMPTY_FILE, "There are no rows to submit.", None)
    return result


def _copy_into_staging(submission_id: int, lines: Iterator[str]) -> None:
    table = staging_table(submission_id)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        cursor.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE {} (row_number integer NOT NULL, indicator_code text, borough_code text, "
                "period text, numerator text, denominator text, note text, organisation text, "
                "problem_code text, problem_column text, problem text)"
            ).format(table)
        )
        copy = sql.SQL(
            "COPY {} (row_number, indicator_code, borough_code, period, numerator, denominator, note, organisation, "
            "problem_code, problem_column, problem) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ("
            "indicator_code, borough_code, period, numerator, denominator, note, organisation, problem_code, "
            "problem_column, problem))"
        ).format(table)
        cursor.copy_expert(copy.as_string(cursor.connection), _CopySource(lines), 1 << 16)


def drop_staging(submission_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging_table(submission_id)))


# Validate and write ---------------------------------------------------------------------

# One row per staged row, typed and joined. `ok` is true when the row has no error.
_RESOLVE_SQL = """
CREATE TEMP TABLE lmh_resolved ON COMMIT DROP AS
WITH s AS (
    SELECT st.*,
           i.id AS indicator_id, i.measure, i.period_type, i.is_active,
           b.id AS borough_id,
           COALESCE(NULLIF(st.organisation, ''), %(default_org_slug)s) AS org_slug
    FROM {staging} st
    LEFT JOIN outcomes_indicator i ON i.code = st.indicator_code
    LEFT JOIN stakeholders_area b ON b.code = upper(st.borough_code) AND b.level = 'borough'
),
t AS (
    SELECT s.*,
        o.id AS organisation_id,
        (o.id = ANY(%(allowed_orgs)s)) AS org_allowed,
        CASE
            WHEN s.period_type = 'month' AND s.period ~ %(month_re)s THEN to_date(s.period || '-01', 'YYYY-MM-DD')
            WHEN s.period_type = 'quarter' AND s.period ~ %(quarter_re)s
                THEN make_date(left(s.period, 4)::int, (right(s.period, 1)::int - 1) * 3 + 1, 1)
            WHEN s.period_type = 'year' AND s.period ~ %(year_re)s THEN make_date(s.period::int, 1, 1)
        END AS period_start,
        (s.period ~ %(month_re)s OR s.period ~ %(quarter_re)s OR s.period ~ %(year_re)s) AS period_wellformed,
        CASE
            WHEN s.measure = 'mean' AND s.numerator ~ '^[0-9]{1,13}([.][0-9]{1,4})?$' THEN s.numerator::numeric
            WHEN s.numerator ~ '^[0-9]{1,13}$' THEN s.numerator::numeric
        END AS num,
        CASE WHEN s.denominator ~ '^[0-9]{1,15}$' AND s.denominator::bigint > 0 THEN s.denominator::bigint END AS den
    FROM s
    LEFT JOIN stakeholders_organisation o ON o.slug = s.org_slug
),
k AS (
    SELECT t.*,
        (t.period_start IS NOT NULL AND (t.period_start + CASE t.period_type
            WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END
        )::date > %(today)s) AS period_future,
        EXISTS (SELECT 1 FROM stakeholders_organisation_boroughs ob
                WHERE ob.organisation_id = t.organisation_id AND ob.area_id = t.borough_id) AS borough_served,
        count(*) OVER (PARTITION BY t.organisation_id, t.indicator_id, t.borough_id, t.period_start) AS key_count,
        min(t.row_number) OVER (PARTITION BY t.organisation_id, t.indicator_id, t.borough_id, t.period_start)
            AS first_row
    FROM t
)
SELECT k.row_number, k.indicator_code, k.borough_code, k.period, k.numerator, k.denominator, k.note,
       k.org_slug, k.problem_code, k.problem_column, k.problem,
       k.indicator_id, k.measure, k.period_type, k.is_active, k.borough_id, k.organisation_id, k.org_allowed,
       k.period_start, k.period_wellformed, k.period_future, k.num, k.den, k.borough_served, k.key_count,
       k.first_row,
       v.id AS existing_id, v.status AS existing_status,
       (v.id IS NOT NULL AND v.numerator = k.num AND v.denominator IS NOT DISTINCT FROM k.den
        AND v.note = COALESCE(k.note, '')) AS same_as_existing,
       NULL::text AS error
FROM k
LEFT JOIN outcomes_outcomevalue v
       ON v.organisation_id = k.organisation_id AND v.indicator_id = k.indicator_id
      AND v.borough_id = k.borough_id AND v.period_start = k.period_start
"""

# (code, column, condition, message expression). The first matching error per row decides `ok`;
# every matching one is reported.
_CHECKS: list[tuple[str, str, str, str]] = [
    (IssueCode.WRONG_FIELD_COUNT, "''", "r.problem_code = 'wrong_field_count'", "r.problem"),
    (IssueCode.FORMULA, "r.problem_column", "r.problem_code = 'formula_like'", "r.problem"),
    (
        IssueCode.UNKNOWN_INDICATOR,
        "'indicator_code'",
        "r.problem_code = '' AND r.indicator_id IS NULL",
        "'There is no indicator with the code ''' || left(r.indicator_code, 60) || '''.'",
    ),
    (
        IssueCode.INACTIVE_INDICATOR,
        "'indicator_code'",
        "r.problem_code = '' AND NOT r.is_active",
        "'The indicator ''' || r.indicator_code || ''' is no longer collected.'",
    ),
    (
        IssueCode.UNKNOWN_BOROUGH,
        "'borough_code'",
        "r.problem_code = '' AND r.borough_id IS NULL",
        "'''' || left(r.borough_code, 60) || ''' is not a London borough GSS code (E09000001 to E09000033).'",
    ),
    (
        IssueCode.UNKNOWN_ORGANISATION,
        "'organisation'",
        "r.problem_code = '' AND r.organisation_id IS NULL",
        "'There is no organisation ''' || left(r.org_slug, 80) || '''.'",
    ),
    (
        IssueCode.ORGANISATION_NOT_ALLOWED,
        "'organisation'",
        "r.problem_code = '' AND r.organisation_id IS NOT NULL AND NOT r.org_allowed",
        "'You cannot submit data for ''' || r.org_slug || '''.'",
    ),
    (
        IssueCode.BOROUGH_NOT_SERVED,
        "'borough_code'",
        "r.problem_code = '' AND r.org_allowed AND r.borough_id IS NOT NULL AND NOT r.borough_served",
        "'''' || r.org_slug || ''' does not serve ' || r.borough_code "
        "|| '. Organisation admins list the boroughs served.'",
    ),
    (
        IssueCode.PERIOD_MALFORMED,
        "'period'",
        "r.problem_code = '' AND NOT r.period_wellformed",
        "'''' || left(r.period, 40) "
        "|| ''' is not a period. Write months as 2026-04, quarters as 2026-Q1, years as 2026.'",
    ),
    (
        IssueCode.PERIOD_WRONG_TYPE,
        "'period'",
        "r.problem_code = '' AND r.period_wellformed AND r.indicator_id IS NOT NULL AND r.period_start IS NULL",
        "'''' || r.period || ''' is not a ' || r.period_type || '; ' || r.indicator_code "
        "|| ' is reported by ' || r.period_type || '.'",
    ),
    (
        IssueCode.PERIOD_FUTURE,
        "'period'",
        "r.problem_code = '' AND r.period_future",
        "'The period ' || r.period || ' has not ended yet.'",
    ),
    (
        IssueCode.NUMERATOR_INVALID,
        "'numerator'",
        "r.problem_code = '' AND r.num IS NULL",
        "CASE WHEN r.measure = 'mean' THEN '''' || left(r.numerator, 40) || ''' is not a non-negative number.' "
        "ELSE '''' || left(r.numerator, 40) || ''' is not a non-negative whole number.' END",
    ),
    (
        IssueCode.DENOMINATOR_MISSING,
        "'denominator'",
        "r.problem_code = '' AND r.measure IN ('proportion', 'mean') AND r.denominator = ''",
        "'A ' || r.measure || ' needs a denominator.'",
    ),
    (
        IssueCode.DENOMINATOR_INVALID,
        "'denominator'",
        "r.problem_code = '' AND r.denominator <> '' AND r.den IS NULL",
        "'''' || left(r.denominator, 40) || ''' is not a positive whole number.'",
    ),
    (
        IssueCode.NUMERATOR_ABOVE_DENOMINATOR,
        "'numerator'",
        "r.problem_code = '' AND r.measure = 'proportion' AND r.num > r.den",
        "'The numerator ' || r.num || ' is above the denominator ' || r.den || '.'",
    ),
    (
        IssueCode.NOTE_TOO_LONG,
        "'note'",
        "r.problem_code = '' AND length(r.note) > 1000",
        "'The note has ' || length(r.note) || ' characters; the most is 1,000.'",
    ),
    (
        IssueCode.DUPLICATE_KEY,
        "''",
        "r.problem_code = '' AND r.key_count > 1 AND r.period_start IS NOT NULL AND r.indicator_id IS NOT NULL "
        "AND r.borough_id IS NOT NULL AND r.organisation_id IS NOT NULL",
        "'The same indicator, borough, period and organisation appear on ' || r.key_count || ' rows (first on row ' "
        "|| r.first_row || '). Keep one.'",
    ),
    (
        IssueCode.APPROVED_LOCKED,
        "''",
        "r.problem_code = '' AND r.existing_status = 'approved' AND NOT r.same_as_existing AND NOT %(amend)s",
        "'This value was approved and is locked. Submit with \"amends approved values\" to change it.'",
    ),
]


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0
    cells: list[tuple[int, str]] = field(default_factory=list)  # (indicator id, period start iso)


def validate_and_write(submission: Submission, allowed_org_ids: list[int], default_org_slug: str) -> ImportCounts:
    """Validate the staged rows and upsert the good ones. Runs inside the caller's transaction."""
    counts = ImportCounts()
    params = {
        "default_org_slug": default_org_slug,
        "allowed_orgs": allowed_org_ids or [0],
        "month_re": PERIOD_SQL_PATTERNS[PeriodType.MONTH],
        "quarter_re": PERIOD_SQL_PATTERNS[PeriodType.QUARTER],
        "year_re": PERIOD_SQL_PATTERNS[PeriodType.YEAR],
        "today": timezone.localdate(),
        "amend": submission.amend_approved,
        "submission_id": submission.pk,
    }
    with connection.cursor() as cursor:
        publish_progress(submission.pk, 0, "validating")
        cursor.execute("DROP TABLE IF EXISTS lmh_resolved")
        # The staging name is built from an integer id, so plain substitution is safe here.
        cursor.execute(_RESOLVE_SQL.replace("{staging}", f'"outcomes_staging_{int(submission.pk)}"'), params)
        # Every problem, one INSERT; then mark the rows in error.
        # Built only from the constant _CHECKS table above: no user text reaches the SQL.
        checks = " UNION ALL ".join(
            f"SELECT r.row_number, {column} AS col, '{code}' AS code, {message} AS message FROM lmh_resolved r "  # noqa: S608
            f"WHERE {condition}"
            for code, column, condition, message in _CHECKS
        )
        cursor.execute(
            'INSERT INTO outcomes_submissionissue (submission_id, row_number, "column", code, message, severity) '  # noqa: S608 - constant checks
            "SELECT %(submission_id)s, e.row_number, COALESCE(e.col, ''), e.code, COALESCE(e.message, e.code),"
            f" 'error' FROM ({checks}) e",
            params,
        )
        cursor.execute(
            "UPDATE lmh_resolved r SET error = i.code FROM ("
            "  SELECT DISTINCT ON (row_number) row_number, code FROM outcomes_submissionissue"
            "  WHERE submission_id = %(submission_id)s AND severity = 'error' AND row_number IS NOT NULL"
            "  ORDER BY row_number, id) i WHERE r.row_number = i.row_number",
            params,
        )
        cursor.execute(
            "SELECT count(*) FILTER (WHERE error IS NOT NULL),"
            " count(*) FILTER (WHERE error IS NULL AND existing_id IS NULL),"
            " count(*) FILTER (WHERE error IS NULL AND existing_id IS NOT NULL AND NOT same_as_existing),"
            " count(*) FILTER (WHERE error IS NULL AND same_as_existing)"
            " FROM lmh_resolved"
        )
        counts.rejected, counts.created, counts.updated, counts.unchanged = cursor.fetchone()
        counts.warnings = _outlier_warnings(cursor, params)
        if submission.atomic and counts.rejected:
            counts.created = counts.updated = 0
            counts.unchanged = 0
            return counts
        if submission.dry_run:
            return counts
        _write(cursor, submission, params)
        cursor.execute(
            "SELECT DISTINCT indicator_id, period_start FROM lmh_resolved"
            " WHERE error IS NULL AND NOT same_as_existing ORDER BY 1, 2"
        )
        counts.cells = [(row[0], row[1].isoformat()) for row in cursor.fetchall()]
    return counts


def _write(cursor: Any, submission: Submission, params: dict[str, Any]) -> None:
    cursor.execute("SELECT min(row_number), max(row_number) FROM lmh_resolved")
    low, high = cursor.fetchone()
    if low is None:
        return
    # Serialise writers of the same values: two imports for one organisation never interleave.
    cursor.execute(
        "SELECT pg_advisory_xact_lock(hashtext('outcomes.import'), org::int) FROM "
        "(SELECT DISTINCT organisation_id AS org FROM lmh_resolved WHERE error IS NULL) o ORDER BY org"
    )
    params = {**params, "now": timezone.now(), "submitted": ValueStatus.SUBMITTED}
    done = 0
    for start in range(low, high + 1, CHUNK_ROWS):
        chunk = {**params, "low": start, "high": start + CHUNK_ROWS - 1}
        cursor.execute(
            "INSERT INTO outcomes_outcomevalue (organisation_id, indicator_id, borough_id, period_start, numerator,"
            " denominator, note, status, query_message, submission_id, submitted_at)"
            " SELECT organisation_id, indicator_id, borough_id, period_start, num,"
            "  den, COALESCE(note, ''),"
            "  %(submitted)s, '', %(submission_id)s, %(now)s"
            " FROM lmh_resolved WHERE error IS NULL AND existing_id IS NULL"
            " AND row_number BETWEEN %(low)s AND %(high)s"
            " ON CONFLICT (organisation_id, indicator_id, borough_id, period_start) DO UPDATE SET"
            "  numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator, note = EXCLUDED.note,"
            "  status = EXCLUDED.status, query_message = '', submission_id = EXCLUDED.submission_id,"
            "  submitted_at = EXCLUDED.submitted_at, reviewed_by_id = NULL, reviewed_at = NULL",
            chunk,
        )
        cursor.execute(
            "UPDATE outcomes_outcomevalue v SET numerator = r.num, denominator = r.den, note = COALESCE(r.note, ''),"
            " status = %(submitted)s, query_message = '', submission_id = %(submission_id)s, submitted_at = %(now)s,"
            " reviewed_by_id = NULL, reviewed_at = NULL"
            " FROM lmh_resolved r WHERE v.id = r.existing_id AND r.error IS NULL AND NOT r.same_as_existing"
            " AND r.row_number BETWEEN %(low)s AND %(high)s",
            chunk,
        )
        done = min(high, start + CHUNK_ROWS - 1) - low + 1
        publish_progress(submission.pk, done, "writing")


def _outlier_warnings(cursor: Any, params: dict[str, Any]) -> int:
    """Warn (never reject) where a new or changed value is unusual for its provider and borough.

    |z| > 3 against the mean and standard deviation of that provider-borough-indicator's
    stored values, or a modified z (0.6745 (x - median) / MAD) above 3.5; at least four
    stored values are needed.
    """
    cursor.execute(
        """
        WITH fresh AS (
            SELECT row_number, organisation_id, indicator_id, borough_id, period_start,
                   CASE WHEN den IS NULL THEN num ELSE num / den END AS x
            FROM lmh_resolved WHERE error IS NULL AND NOT same_as_existing AND num IS NOT NULL
        ),
        keys AS (SELECT DISTINCT organisation_id, indicator_id, borough_id FROM fresh),
        hist AS (
            SELECT v.organisation_id, v.indicator_id, v.borough_id,
                   CASE WHEN v.denominator IS NULL THEN v.numerator ELSE v.numerator / v.denominator END AS x
            FROM outcomes_outcomevalue v JOIN keys USING (organisation_id, indicator_id, borough_id)
        ),
        stats AS (
            SELECT organisation_id, indicator_id, borough_id, count(*) AS n, avg(x) AS mean,
                   stddev_samp(x) AS sd, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS median
            FROM hist GROUP BY 1, 2, 3 HAVING count(*) >= 4
        ),
        mad AS (
            SELECT h.organisation_id, h.indicator_id, h.borough_id,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(h.x - s.median)) AS mad
            FROM hist h JOIN stats s USING (organisation_id, indicator_id, borough_id) GROUP BY 1, 2, 3
        )
        INSERT INTO outcomes_submissionissue (submission_id, row_number, "column", code, message, severity)
        SELECT %(submission_id)s, f.row_number, 'numerator', 'outlier',
               'This value (' || round(f.x, 4) || ') is unusual for this provider and borough: the usual value is '
               || round(s.median::numeric, 4) || '. Check it; it has not been rejected.', 'warning'
        FROM fresh f
        JOIN stats s USING (organisation_id, indicator_id, borough_id)
        JOIN mad m USING (organisation_id, indicator_id, borough_id)
        WHERE (s.sd > 0 AND abs(f.x - s.mean) / s.sd > 3)
           OR (m.mad > 0 AND 0.6745 * abs(f.x - s.median::numeric) / m.mad::numeric > 3.5)
        """,
        params,
    )
    return cursor.rowcount


# The whole run --------------------------------------------------------------------------


def record_file_problem(submission: Submission, problem: FileRejected) -> None:
    SubmissionIssue.objects.create(
        submission=submission,
        row_number=problem.row_number,
        code=problem.code,
        message=problem.message,
        severity=SubmissionIssue.Severity.ERROR,
    )
    submission.status = Submission.Status.REJECTED
    submission.message = problem.message
    submission.finished_at = timezone.now()
    submission.save(update_fields=["status", "message", "finished_at"])


def record_warnings(submission: Submission, warnings: list[tuple[str, str, str]]) -> None:
    SubmissionIssue.objects.bulk_create(
        SubmissionIssue(
            submission=submission,
            row_number=1,
            column=column,
            code=code,
            message=message,
            severity=SubmissionIssue.Severity.WARNING,
        )
        for code, column, message in warnings
    )
