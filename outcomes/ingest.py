"""The import pipeline behind every door (web form, CSV upload, API): stage, validate, upsert.

1. Stage. The upload is streamed, never held whole, into an UNLOGGED staging table of its
   own (`outcomes_staging_<submission id>`), one text column per CSV column plus the row
   number (the header is row 1). Two ways in, one result:
   - fast: when the bytes after the header hold no quote character, no `\\.` and no line
     longer than MAX_CELL_CHARS, PostgreSQL's own COPY parses them (Python only hashes,
     counts and scans the bytes for those conditions, and for padding and formula-like
     starts that decide which checks the SQL must make);
   - exact: otherwise, or when COPY refuses the data (bad UTF-8, a blank line, a row with
     the wrong number of cells, a NUL byte), Python's csv reader reads the file from the
     start and reports every problem by row. Rows from the form and the JSON API come this
     way too. Uploads that cannot be rewound are spooled to a temporary file first.
2. Validate, set-based, in one statement: the staged rows are joined to two small lookup
   tables built for this import (allowed organisation x served borough; indicator x period
   label), typed, sorted on the natural key packed into one bigint, joined to the stored
   values and written to a narrow temporary table, each row marked in error or not; a unique
   index on that key, cheap to build on sorted keys, finds any duplicates. Only the rows in error are then
   explained, one table at a time: one INSERT ... SELECT writes every problem of every such
   row as a SubmissionIssue with a stable code (IssueCode).
3. Write, set-based: new keys are INSERTed (plain INSERT: writers of one organisation's
   values are serialised by an advisory lock taken before validation, so no key can appear
   behind our back) and changed ones UPDATEd, in chunks that publish progress. Unchanged
   rows are not written at all, so re-uploading a file writes nothing. Approved values are
   locked unless the submission amends them. With `atomic`, any error means nothing is written.
4. The touched (indicator, period) cells are returned for aggregation (dashboards).

Referential integrity of OutcomeValue is checked here, set-based, rather than by per-row
foreign-key triggers (see docs/performance.md): every id written comes from a join to its
table inside the writing transaction.

Small submissions run in the request; larger ones (over OUTCOMES_ASYNC_ROWS) are staged
in the request and validated and written by a Celery task, with progress in the cache.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import psycopg2
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from outcomes.breakdowns import FIXED_GROUPS, NOT_KNOWN, Breakdown
from outcomes.models import (
    FINANCIAL_QUARTER_SQL_PATTERN,
    PERIOD_SQL_PATTERNS,
    IssueCode,
    PeriodType,
    Submission,
    SubmissionIssue,
    ValueStatus,
)

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("indicator_code", "borough_code", "period", "numerator", "denominator")
OPTIONAL_COLUMNS = ("note", "organisation", "breakdown", "group")
ALL_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
GROUP_COLUMNS = ("breakdown", "group")  # together or not at all; blank cells: all people (the headline)
# The staging table's name for a column ("group" is an SQL keyword).
STAGED = {c: ("population_group" if c == "group" else c) for c in ALL_COLUMNS}
STAGED_COLUMNS = tuple(STAGED.values())
# A cell whose first character (after spaces) is one of these would run as a formula when the
# data is opened in a spreadsheet (CSV injection); "-" is left out so that "-3" reads as the
# invalid number it is.
FORMULA_PREFIXES = ("=", "+", "@")
TRIM_CHARS = " \t\r\n"  # stripped from both ends of every cell
MAX_CELL_CHARS = 10_000
MAX_NOTE_CHARS = 1000
FIRST_YEAR = 1900  # periods before this are refused (they are typing slips, not history)
CHUNK_ROWS = 250_000  # rows written per statement, between progress updates
READ_BYTES = 1 << 16
HEADER_MAX_BYTES = 1 << 16
# Memory for the one sort (duplicate keys, natural-key order) of a large import.
IMPORT_WORK_MEM = "256MB"


class FileRejected(Exception):
    """The whole file cannot be read: nothing is imported."""

    def __init__(self, code: str, message: str, row_number: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row_number = row_number


class _NeedsPython(Exception):
    """The fast path cannot read these bytes exactly as Python's csv module would."""


class _NulByte(Exception):
    """A NUL byte: no text cell may hold one."""


@dataclass
class StageResult:
    total_rows: int = 0
    size_bytes: int = 0
    checksum: str = ""
    warnings: list[tuple[str, str, str]] = field(default_factory=list)  # (code, column, message)
    fast: bool = False  # staged by COPY straight from the bytes


def staging_name(submission_id: int) -> str:
    return f"outcomes_staging_{int(submission_id)}"


def _staging(submission_id: int) -> str:
    # Built from an integer id, so plain substitution into SQL is safe.
    return f'"{staging_name(submission_id)}"'


def progress_key(submission_id: int) -> str:
    return f"outcomes:submission-progress:{submission_id}"


def publish_progress(submission_id: int, done: int, stage: str) -> None:
    cache.set(progress_key(submission_id), {"done": done, "stage": stage}, timeout=60 * 60 * 6)


def read_progress(submission_id: int) -> dict[str, Any] | None:
    return cache.get(progress_key(submission_id))


# Stage ---------------------------------------------------------------------------------


def _too_large(max_bytes: int) -> FileRejected:
    return FileRejected(
        IssueCode.FILE_TOO_LARGE, f"The file is larger than {max_bytes:,} bytes. Split it into smaller files."
    )


def _seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable()) and stream.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False


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
            raise _too_large(self.max_bytes)
        if b"\x00" in data:
            raise _NulByte  # text cannot hold it; a binary file, or UTF-16
        self.sha.update(data)
        buffer[: len(data)] = data
        return len(data)


# Byte pairs that show a cell with leading or trailing blanks, and a cell starting like a formula.
_PADDING = (b", ", b" ,", b"\t", b" \n", b"\n ", b" \r")
_FORMULA = tuple(sep + p.encode() for sep in (b",", b"\n") for p in FORMULA_PREFIXES)


class _FastReader:
    """Feeds COPY the bytes after the header, checking that PostgreSQL will read them exactly
    as Python's csv module would: no quote character (PostgreSQL and Python differ on quotes
    inside unquoted cells), no `\\.` (COPY's end-of-data marker) and no line longer than
    MAX_CELL_CHARS (Python rejects such cells). Also notes whether any cell may carry
    leading or trailing blanks or start like a formula, so the SQL skips those checks when
    no cell can. Exceptions are kept in `error`: psycopg2 replaces them with its own.
    """

    def __init__(self, stream: IO[bytes], pending: bytes, consumed: int, sha: Any, max_bytes: int, max_rows: int):
        self.stream = stream
        self.pending = pending
        self.size = consumed
        self.sha = sha
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self.error: BaseException | None = None
        self.padded = False
        self.formula = False
        self.newlines = 0
        self.run = 0  # bytes of the line not yet ended
        self.last = b"\n"  # the byte before the next chunk: data starts at a line start

    def read(self, size: int = -1) -> bytes:
        try:
            return self._read()
        except BaseException as exc:
            self.error = exc
            raise

    def _read(self) -> bytes:
        if self.pending:  # read (and counted and hashed) with the header
            data, self.pending = self.pending, b""
        else:
            data = self.stream.read(READ_BYTES)
            if not data:
                if self.last in (b" ", b"\t"):
                    self.padded = True
                return b""
            self.size += len(data)
            if self.size > self.max_bytes:
                raise _too_large(self.max_bytes)
            self.sha.update(data)
        window = self.last + data
        if b'"' in data or b"\\." in window:
            raise _NeedsPython
        if self._line_too_long(data):
            raise _NeedsPython
        self.newlines += data.count(b"\n")
        if self.newlines > self.max_rows:
            raise FileRejected(
                IssueCode.TOO_MANY_ROWS,
                f"The file has more than {self.max_rows:,} rows. Split it into smaller files.",
                self.max_rows + 2,
            )
        if not self.padded:
            self.padded = any(p in window for p in _PADDING)
        if not self.formula:
            self.formula = any(p in window for p in _FORMULA)
        self.last = data[-1:]
        return data

    def _line_too_long(self, data: bytes) -> bool:
        first = data.find(b"\n")
        if first < 0:
            self.run += len(data)
            return self.run > MAX_CELL_CHARS
        if self.run + first > MAX_CELL_CHARS:
            return True
        last = data.rfind(b"\n")
        # A line inside the chunk longer than MAX_CELL_CHARS covers a whole window of half that
        # with no newline; only then are the lines measured one by one.
        step = MAX_CELL_CHARS // 2
        for start in range(first + 1, last, step):
            if data.find(b"\n", start, min(start + step, last)) < 0:
                if max(map(len, data[first + 1 : last].split(b"\n"))) > MAX_CELL_CHARS:
                    return True
                break
        self.run = len(data) - last - 1
        return self.run > MAX_CELL_CHARS


class _CopySource:
    """A file-like object that psycopg2's copy_expert reads, fed by a generator of CSV text.

    psycopg2 replaces an exception raised while reading with its own QueryCanceled, so the
    original is kept in `error` for the caller to raise.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.buffer = ""
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> str:
        try:
            while size < 0 or len(self.buffer) < size:
                try:
                    self.buffer += next(self.lines)
                except StopIteration:
                    break
        except BaseException as exc:
            self.error = exc
            raise
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
            + " (note, organisation, breakdown and group optional).",
            1,
        )
    given = [c for c in GROUP_COLUMNS if c in names]
    if len(given) == 1:
        other = next(c for c in GROUP_COLUMNS if c not in names)
        raise FileRejected(
            IssueCode.HEADER_MISSING,
            f"The file has a '{given[0]}' column but no '{other}' column: give both (a value for one group of one"
            " breakdown) or neither (values for all people).",
            1,
        )
    warnings = [
        (IssueCode.COLUMN_IGNORED, name[:40], f"The column '{name[:80]}' is not used and was ignored.")
        for name in names
        if name and name not in ALL_COLUMNS
    ]
    return names, warnings


def _flags(*, trim: bool, formula: bool, groups: bool) -> str:
    return f"trim={int(trim)} formula={int(formula)} groups={int(groups)}"


def _create_staging(
    cursor: Any, submission_id: int, extra_columns: int, *, trim: bool, formula: bool, groups: bool
) -> None:
    """The staging table: row number, the nine text columns, any Python-found problem, and
    `extra_columns` columns for ignored CSV columns. Its comment records which checks the
    validation must make (read back by a Celery worker, which has no StageResult): `groups`
    when the rows may name a breakdown and group (else every row is a headline)."""
    table = _staging(submission_id)
    extras = "".join(f", x{n} text" for n in range(1, extra_columns + 1))
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(
        f"CREATE UNLOGGED TABLE {table} (row_number bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 2),"
        + "".join(f" {c} text NOT NULL DEFAULT ''," for c in STAGED_COLUMNS)
        + " problem_code text NOT NULL DEFAULT '', problem text NOT NULL DEFAULT ''"
        + extras
        + ") WITH (autovacuum_enabled = false)"
    )
    cursor.execute(f"COMMENT ON TABLE {table} IS '{_flags(trim=trim, formula=formula, groups=groups)}'")


def _staged_lines(
    records: Iterator[list[str]],
    names: list[str],
    submission_id: int,
    max_rows: int,
    result: StageResult,
    first_row: int = 2,
) -> Iterator[str]:
    """CSV text for COPY: row_number, the seven trimmed text columns, and any parse problem.

    A file's rows are numbered from 2 (its header is line 1); rows given as a list (the web
    form, the JSON API) from 1, as the person sees them.
    """
    positions = [names.index(c) if c in names else None for c in ALL_COLUMNS]
    width = len(names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    row_number = first_row - 1
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
        cells = [record[p].strip(TRIM_CHARS) if p is not None and p < len(record) else "" for p in positions]
        if len(record) != width:
            writer.writerow(
                [
                    row_number,
                    *cells,
                    IssueCode.WRONG_FIELD_COUNT,
                    f"The row has {len(record)} cells but the header has {width}.",
                ]
            )
        else:
            writer.writerow([row_number, *cells, "", ""])
        if count % 50_000 == 0:
            publish_progress(submission_id, 0, f"reading: {count:,} rows")
        if out.tell() > READ_BYTES:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    result.total_rows = count
    yield out.getvalue()


def _copy_rows(submission_id: int, lines: Iterator[str], *, groups: bool) -> None:
    """COPY Python-read rows (already trimmed) into a new staging table."""
    with connection.cursor() as cursor:
        _create_staging(cursor, submission_id, 0, trim=False, formula=True, groups=groups)
        columns = ", ".join(STAGED_COLUMNS)
        source = _CopySource(lines)
        try:
            cursor.copy_expert(
                f"COPY {_staging(submission_id)} (row_number, {columns}, problem_code, problem) FROM STDIN"
                f" WITH (FORMAT csv, FORCE_NOT_NULL ({columns}, problem_code, problem))",
                source,
                READ_BYTES,
            )
        except psycopg2.Error:
            if source.error is not None:
                raise source.error from None
            raise


def _read_header(stream: IO[bytes], sha: Any, max_bytes: int) -> tuple[bytes, bytes, int] | None:
    """(header line, bytes read after it, bytes read) or None when no newline comes soon."""
    head = b""
    while b"\n" not in head and len(head) < HEADER_MAX_BYTES:
        data = stream.read(READ_BYTES)
        if not data:
            return None
        head += data
        if len(head) > max_bytes:
            raise _too_large(max_bytes)
    end = head.find(b"\n")
    if end < 0:
        return None
    sha.update(head)
    return head[:end], head[end + 1 :], len(head)


def _stage_fast(submission: Submission, stream: IO[bytes], result: StageResult) -> bool:
    """Try the fast way in; False (nothing staged, stream to be rewound) when it cannot be used."""
    sha = hashlib.sha256()
    max_bytes = settings.OUTCOMES_MAX_UPLOAD_BYTES
    header = _read_header(stream, sha, max_bytes)
    if header is None:
        return False
    line, pending, consumed = header
    if b'"' in line:
        return False
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        return False  # the exact way reports it
    names, warnings = _header(next(csv.reader([text])))
    reader = _FastReader(stream, pending, consumed, sha, max_bytes, settings.OUTCOMES_MAX_ROWS)
    extras = 0
    targets = []
    for name in names:
        if name in ALL_COLUMNS:
            targets.append(STAGED[name])
        else:
            extras += 1
            targets.append(f"x{extras}")
    known = ", ".join(t for t in targets if t in STAGED_COLUMNS)
    groups = any(c in names for c in GROUP_COLUMNS)
    table = _staging(submission.pk)
    publish_progress(submission.pk, 0, "reading")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _create_staging(cursor, submission.pk, extras, trim=True, formula=True, groups=groups)
            cursor.copy_expert(
                f"COPY {table} ({', '.join(targets)}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({known}))",
                reader,
                READ_BYTES,
            )
            rows = cursor.rowcount
            if rows > settings.OUTCOMES_MAX_ROWS:
                raise FileRejected(
                    IssueCode.TOO_MANY_ROWS,
                    f"The file has more than {settings.OUTCOMES_MAX_ROWS:,} rows. Split it into smaller files.",
                    settings.OUTCOMES_MAX_ROWS + 2,
                )
            # Now the checks the bytes showed to be needed.
            # A padded cell may hide a formula behind its blanks: " =SUM(A1)".
            formula = reader.formula or reader.padded
            flags = _flags(trim=reader.padded, formula=formula, groups=groups)
            cursor.execute(f"COMMENT ON TABLE {table} IS '{flags}'")
    except (psycopg2.Error, DatabaseError):
        if isinstance(reader.error, FileRejected):
            raise reader.error from None
        logger.debug("submission %s: fast staging not possible (%r)", submission.pk, reader.error)
        return False
    result.total_rows = rows
    result.size_bytes = reader.size
    result.checksum = sha.hexdigest()
    result.warnings = warnings
    result.fast = True
    return True


def _first_undecodable_line(stream: IO[bytes], start: int) -> int | None:
    """The first line (1-based) that is not UTF-8: the decoder only says which chunk failed."""
    stream.seek(start)
    decoder = codecs.getincrementaldecoder("utf-8")()
    for number, line in enumerate(stream, start=1):
        try:
            decoder.decode(line)
        except UnicodeDecodeError:
            return number
    return None


def _encoding_problem(line: int) -> FileRejected:
    return FileRejected(
        IssueCode.ENCODING,
        f"The file is not UTF-8 text: line {line:,} has bytes that are not (an 'é' saved as 'CSV' rather than"
        " 'CSV UTF-8', say, or a file saved as UTF-16). Save it as 'CSV UTF-8' from your spreadsheet program.",
        line,
    )


def _first_line_with(stream: IO[bytes], start: int, needle: bytes) -> int:
    stream.seek(start)
    return next((number for number, line in enumerate(stream, start=1) if needle in line), 1)


def _stage_python(submission: Submission, stream: IO[bytes], result: StageResult) -> None:
    """The exact way in: Python's csv reader, a report for every problem."""
    start = stream.tell()
    hashing = _HashingReader(stream, settings.OUTCOMES_MAX_UPLOAD_BYTES)
    buffered = io.BufferedReader(hashing, buffer_size=READ_BYTES)
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
    previous_limit = csv.field_size_limit(MAX_CELL_CHARS)
    # strict: a quoted cell left open to the end of the file, or text after a closing quote,
    # is an error rather than rows silently merged into one cell.
    reader = csv.reader(text, strict=True)
    try:
        try:
            raw_header = next(reader)
        except StopIteration:
            raise FileRejected(
                IssueCode.EMPTY_FILE, "The file is empty. Download the template to see the columns.", None
            ) from None
        names, result.warnings = _header(raw_header)
        _copy_rows(
            submission.pk,
            _staged_lines(reader, names, submission.pk, settings.OUTCOMES_MAX_ROWS, result),
            groups=any(c in names for c in GROUP_COLUMNS),
        )
    except UnicodeDecodeError:
        raise _encoding_problem(_first_undecodable_line(stream, start) or 1) from None
    except _NulByte:
        line = _first_line_with(stream, start, b"\x00")
        undecodable = _first_undecodable_line(stream, start)
        if undecodable is not None and undecodable <= line:  # UTF-16, most likely
            raise _encoding_problem(undecodable) from None
        raise FileRejected(
            IssueCode.MALFORMED_CSV,
            f"Line {line:,} holds a NUL byte, which no text may: is this a spreadsheet or UTF-16 file rather than"
            " 'CSV UTF-8'?",
            line,
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
    while hashing.read(READ_BYTES):
        pass
    result.size_bytes = hashing.size
    result.checksum = hashing.sha.hexdigest()


def stage_csv(submission: Submission, stream: IO[bytes]) -> StageResult:
    """Stream a CSV file into the submission's staging table. Raises FileRejected."""
    result = StageResult()
    spool = None
    if not _seekable(stream):
        # The fast way may have to give up half way and start again: keep the bytes.
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed in finally
        size, limit = 0, settings.OUTCOMES_MAX_UPLOAD_BYTES
        while data := stream.read(READ_BYTES):
            size += len(data)
            if size > limit:
                spool.close()
                raise _too_large(limit)
            spool.write(data)
        spool.seek(0)
        stream = spool
    started = time.perf_counter()
    try:
        start = stream.tell()
        if not _stage_fast(submission, stream, result):
            stream.seek(start)
            result = StageResult()
            _stage_python(submission, stream, result)
    finally:
        if spool is not None:
            spool.close()
    if result.total_rows == 0:
        if result.size_bytes == 0:
            raise FileRejected(IssueCode.EMPTY_FILE, "The file is empty. Download the template to see the columns.")
        raise FileRejected(IssueCode.EMPTY_FILE, "The file has a header but no data rows.", None)
    logger.debug(
        "submission %s: staged %s rows by %s in %.2f s",
        submission.pk,
        result.total_rows,
        "COPY" if result.fast else "Python",
        time.perf_counter() - started,
    )
    return result


def stage_rows(submission: Submission, rows: Iterable[dict[str, Any]]) -> StageResult:
    """Stage rows given as dicts (the web form and JSON API). Same checks as a CSV file.

    Rows are numbered as the person sees them: the first is row 1 (an empty dict keeps its
    number, so a web form's blank line still counts, like a file's blank line).
    """
    result = StageResult()
    sha = hashlib.sha256()

    def records() -> Iterator[list[str]]:
        for row in rows:
            cells = ["" if row.get(c) is None else str(row.get(c)) for c in ALL_COLUMNS]
            sha.update(("\x1f".join(cells) + "\n").encode())
            yield cells

    _copy_rows(
        submission.pk,
        _staged_lines(records(), list(ALL_COLUMNS), submission.pk, settings.OUTCOMES_MAX_ROWS, result, first_row=1),
        groups=True,
    )
    result.checksum = sha.hexdigest()
    if result.total_rows == 0:
        raise FileRejected(IssueCode.EMPTY_FILE, "There are no rows to submit.", None)
    return result


def drop_staging(submission_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_staging(submission_id)}")


# Validate and write ---------------------------------------------------------------------

_TEMP_TABLES = ("lmh_resolved", "lmh_orgs", "lmh_periods", "lmh_groups", "lmh_over", "lmh_stats")

# (allowed organisation x served borough) and (indicator x period label): every valid
# combination, so that one hash probe each resolves a row; a row that misses either is in
# error, and only such rows are looked at closely (_EXPLAIN_SQL). k1 | k2 is the natural key
# as one bigint that sorts in the same order (organisation, indicator, borough, period ranks
# in 15, 16, 16 and 16 bits), so the sort and the duplicate test compare one number.
_LOOKUPS_SQL = """
CREATE TEMP TABLE lmh_orgs ON COMMIT DROP AS
SELECT DISTINCT o.slug::text AS slug, c.code AS borough_code, o.id AS organisation_id, b.id AS borough_id,
       (dense_rank() OVER (ORDER BY o.id) << 48) | (dense_rank() OVER (ORDER BY b.id) << 16) AS k1
FROM stakeholders_organisation o
JOIN stakeholders_organisation_boroughs ob ON ob.organisation_id = o.id
JOIN stakeholders_area b ON b.id = ob.area_id AND b.level = 'borough'
CROSS JOIN LATERAL (VALUES (b.code::text), (lower(b.code))) c (code)
WHERE o.id = ANY(%(allowed_orgs)s);

CREATE TEMP TABLE lmh_periods ON COMMIT DROP AS
WITH p AS (
    SELECT 'month' AS kind, to_char(d, 'YYYY-MM') AS label, d::date AS start, (d + interval '1 month')::date AS ends
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 month') d
    UNION ALL
    SELECT 'quarter', to_char(d, 'YYYY') || '-Q' || extract(quarter FROM d), d::date, (d + interval '3 months')::date
    FROM generate_series(%(first)s::date, %(last)s::date, interval '3 months') d
    UNION ALL
    -- NHS financial quarters (April start): the same start days as calendar quarters, named
    -- by financial year, 2025-26 Q1 for April to June 2025 (outcomes.models.financial_quarter_label).
    SELECT 'fquarter', fy::text || '-' || lpad(((fy + 1) %% 100)::text, 2, '0') || ' Q'
           || (((extract(month FROM d)::int - 4 + 12) %% 12) / 3 + 1),
           d::date, (d + interval '3 months')::date
    FROM generate_series(%(first)s::date, %(last)s::date, interval '3 months') d
    CROSS JOIN LATERAL (SELECT extract(year FROM d)::int - (extract(month FROM d) < 4)::int AS fy) f
    UNION ALL
    SELECT 'year', to_char(d, 'YYYY'), d::date, (d + interval '1 year')::date
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 year') d
)
SELECT i.code::text AS code, p.label AS period, i.id AS indicator_id, i.measure::text AS measure, i.is_active,
       p.start AS period_start, p.ends > %(today)s AS future,
       (dense_rank() OVER (ORDER BY i.id) << 32)
       | ((extract(year FROM p.start)::bigint - {first_year}) * 12 + extract(month FROM p.start)::bigint) AS k2
FROM outcomes_indicator i
JOIN p ON p.kind = CASE WHEN i.financial_quarters THEN 'fquarter' ELSE i.period_type::text END;

-- (indicator x breakdown x group) for every breakdown an indicator accepts: its fixed groups, or
-- for age its own bands and "not known". g ranks a group (1 up; the headline is 0); ord is the
-- group's place in its breakdown, for listing them.
CREATE TEMP TABLE lmh_groups ON COMMIT DROP AS
SELECT x.indicator_id, x.breakdown, x.grp, x.ord, dense_rank() OVER (ORDER BY x.breakdown, x.grp)::int AS g
FROM (
    SELECT i.id AS indicator_id, f.breakdown, f.grp, f.ord
    FROM outcomes_indicator i
    JOIN unnest(%(fixed_breakdowns)s::text[], %(fixed_groups)s::text[], %(fixed_order)s::int[]) f (breakdown, grp, ord)
      ON f.breakdown = ANY(i.breakdowns::text[])
    UNION ALL
    SELECT i.id, 'age', lower(a.band), a.ord::int
    FROM outcomes_indicator i
    CROSS JOIN LATERAL unnest(i.age_bands::text[] || ARRAY[%(not_known)s::text]) WITH ORDINALITY a (band, ord)
    WHERE 'age' = ANY(i.breakdowns::text[])
) x;
"""

# One row per staged row: typed, keyed, sorted on the key, compared with the stored value and
# marked in error or not. Duplicate keys are found afterwards by a unique index on k
# (_find_duplicates): cheap to build on sorted keys, and it only fails when there are some.
_RESOLVE_SQL = """
CREATE TEMP TABLE lmh_resolved ON COMMIT DROP AS
SELECT q.row_number, q.organisation_id, q.indicator_id, q.borough_id, q.period_start,
       q.breakdown, q.population_group, q.num, q.den, q.note,
       v.id AS existing_id,
       COALESCE(v.numerator = q.num AND v.denominator IS NOT DISTINCT FROM q.den AND v.note = q.note, false) AS same,
       q.k, q.g, false AS dup,
       COALESCE(
           q.organisation_id IS NULL OR q.indicator_id IS NULL OR q.g IS NULL OR q.problem_code <> '' OR {formula_q}
           OR NOT q.is_active OR q.future
           OR q.num IS NULL
           OR (NOT q.den_empty AND (q.den IS NULL OR q.den <= 0))
           OR (q.measure IN ('proportion', 'mean') AND q.den_empty)
           OR (q.measure = 'proportion' AND q.num > q.den)
           OR (octet_length(q.note) > {max_note} AND length(q.note) > {max_note})
           OR (v.status = 'approved' AND NOT %(amend)s
               AND NOT (v.numerator = q.num AND v.denominator IS NOT DISTINCT FROM q.den AND v.note = q.note)),
           false) AS err
FROM (
    SELECT st.row_number::int AS row_number,
           l1.organisation_id, l2.indicator_id, l1.borough_id, l2.period_start,
           l1.k1 | l2.k2 AS k,
           {breakdown} AS breakdown, {group} AS population_group, {g} AS g,
           l2.measure, l2.is_active, l2.future,
           CASE WHEN {num} <> '' AND {num} !~ '[^0-9]' AND length({num}) <= 13 THEN {num}::numeric
                WHEN l2.measure = 'mean' AND {num} ~ '^[0-9]+[.][0-9]+$' AND position('.' IN {num}) <= 14
                     AND length({num}) - position('.' IN {num}) <= 4 THEN {num}::numeric END AS num,
           CASE WHEN {den} <> '' AND {den} !~ '[^0-9]' AND length({den}) <= 15 THEN {den}::bigint END AS den,
           {den} = '' AS den_empty,
           {note} AS note,
           st.problem_code
           {formula_column}
    FROM {staging} st
    LEFT JOIN lmh_orgs l1 ON l1.slug = {org} AND l1.borough_code = {borough}
    LEFT JOIN lmh_periods l2 ON l2.code = {indicator} AND l2.period = {period}
    {group_join}
    ORDER BY k{g_order}  -- so that the writes walk the indexes in order
    OFFSET 0  -- a fence: each cell is typed once, not once per mention above
) q
LEFT JOIN (
    SELECT id, organisation_id, indicator_id, borough_id, period_start, breakdown, population_group,
           numerator, denominator, note, status
    FROM outcomes_outcomevalue WHERE organisation_id = ANY(%(allowed_orgs)s)
) v ON v.organisation_id = q.organisation_id AND v.indicator_id = q.indicator_id
   AND v.borough_id = q.borough_id AND v.period_start = q.period_start
   AND v.breakdown = q.breakdown AND v.population_group = q.population_group
"""

# The rows in error, resolved again one table at a time so that each problem gets its own code.
_EXPLAIN_SQL = """
WITH e AS (
    SELECT r.row_number, r.dup, ev.status AS existing_status, r.same,
           count(*) OVER k AS key_count, min(r.row_number) OVER k AS first_row,
           {indicator} AS indicator_code, {borough} AS borough_code, {period} AS period, {num} AS numerator,
           {den} AS denominator, {note} AS note, {org} AS org_slug, st.problem_code, st.problem,
           {formula_column} AS formula_column,
           {breakdown} AS breakdown_code, {group} AS group_code, {over_columns}
    FROM lmh_resolved r JOIN {staging} st ON st.row_number = r.row_number
    LEFT JOIN outcomes_outcomevalue ev ON ev.id = r.existing_id
    {over_join}
    WHERE r.err
    WINDOW k AS (PARTITION BY r.dup, r.organisation_id, r.indicator_id, r.borough_id, r.period_start,
                 r.breakdown, r.population_group)
),
s AS (
    SELECT e.*, i.id AS indicator_id, i.measure, i.period_type, i.financial_quarters, i.is_active,
           b.id AS borough_id,
           o.id AS organisation_id, (o.id = ANY(%(allowed_orgs)s)) AS org_allowed,
           (e.problem_code = '' AND e.formula_column = '') AS plain,
           e.breakdown_code = ANY(%(breakdowns)s::text[]) AS breakdown_known,
           e.breakdown_code = ANY(i.breakdowns::text[]) AS breakdown_accepted,
           EXISTS (SELECT 1 FROM lmh_groups lg WHERE lg.indicator_id = i.id AND lg.breakdown = e.breakdown_code
                   AND lg.grp = e.group_code) AS group_known,
           (SELECT string_agg(lg.grp, ', ' ORDER BY lg.ord) FROM lmh_groups lg
            WHERE lg.indicator_id = i.id AND lg.breakdown = e.breakdown_code) AS group_codes,
           array_to_string(i.breakdowns, ', ') AS accepted_breakdowns,
           (e.period ~ %(month_re)s OR e.period ~ %(quarter_re)s OR e.period ~ %(year_re)s
            OR (e.period ~ %(fquarter_re)s
                AND substr(e.period, 6, 2)::int = (left(e.period, 4)::int + 1) %% 100)) AS period_wellformed
    FROM e
    LEFT JOIN outcomes_indicator i ON i.code = e.indicator_code
    LEFT JOIN stakeholders_area b ON b.code = upper(e.borough_code) AND b.level = 'borough'
    LEFT JOIN stakeholders_organisation o ON o.slug = e.org_slug
),
t AS (
    SELECT s.*,
        (s.period_wellformed AND left(s.period, 4)::int < {first_year}) AS period_early,
        CASE WHEN s.period_wellformed AND left(s.period, 4)::int >= {first_year} THEN CASE
            WHEN s.period_type = 'month' AND s.period ~ %(month_re)s
                THEN make_date(left(s.period, 4)::int, right(s.period, 2)::int, 1)
            WHEN s.period_type = 'quarter' AND NOT s.financial_quarters AND s.period ~ %(quarter_re)s
                THEN make_date(left(s.period, 4)::int, (right(s.period, 1)::int - 1) * 3 + 1, 1)
            WHEN s.period_type = 'quarter' AND s.financial_quarters AND s.period ~ %(fquarter_re)s
                THEN (make_date(left(s.period, 4)::int, 4, 1)
                      + make_interval(months => (right(s.period, 1)::int - 1) * 3))::date
            WHEN s.period_type = 'year' AND s.period ~ %(year_re)s THEN make_date(s.period::int, 1, 1)
        END END AS period_start,
        CASE
            WHEN s.numerator ~ '^[0-9]{{1,13}}$' THEN s.numerator::numeric
            WHEN s.measure = 'mean' AND s.numerator ~ %(mean_re)s THEN s.numerator::numeric
        END AS num,
        CASE WHEN s.denominator ~ '^[0-9]{{1,15}}$' AND s.denominator::bigint > 0 THEN s.denominator::bigint END AS den,
        EXISTS (SELECT 1 FROM stakeholders_organisation_boroughs ob
                WHERE ob.organisation_id = s.organisation_id AND ob.area_id = s.borough_id) AS borough_served
    FROM s
),
r AS (
    SELECT t.*,
        (t.period_start IS NOT NULL AND (t.period_start + CASE t.period_type
            WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END
        )::date > %(today)s) AS period_future
    FROM t
)
INSERT INTO outcomes_submissionissue (submission_id, row_number, "column", code, message, severity)
SELECT %(submission_id)s, x.row_number, COALESCE(x.col, ''), x.code, COALESCE(x.message, x.code), 'error'
FROM ({checks}) x
"""

# (code, column, condition, message) over the explained rows `r`; every matching one is reported.
_CHECKS: list[tuple[str, str, str, str]] = [
    (IssueCode.WRONG_FIELD_COUNT, "''", "r.problem_code = 'wrong_field_count'", "r.problem"),
    (
        IssueCode.FORMULA,
        "r.formula_column",
        "r.problem_code = '' AND r.formula_column <> ''",
        "'''' || left(CASE r.formula_column WHEN 'indicator_code' THEN r.indicator_code"
        " WHEN 'borough_code' THEN r.borough_code WHEN 'period' THEN r.period WHEN 'numerator' THEN r.numerator"
        " WHEN 'denominator' THEN r.denominator WHEN 'note' THEN r.note WHEN 'breakdown' THEN r.breakdown_code"
        " WHEN 'group' THEN r.group_code ELSE r.org_slug END, 40)"
        " || ''' looks like a spreadsheet formula. Enter the value itself.'",
    ),
    (
        IssueCode.UNKNOWN_INDICATOR,
        "'indicator_code'",
        "r.plain AND r.indicator_id IS NULL",
        "'There is no indicator with the code ''' || left(r.indicator_code, 60) || '''.'",
    ),
    (
        IssueCode.INACTIVE_INDICATOR,
        "'indicator_code'",
        "r.plain AND NOT r.is_active",
        "'The indicator ''' || r.indicator_code || ''' is no longer collected.'",
    ),
    (
        IssueCode.UNKNOWN_BOROUGH,
        "'borough_code'",
        "r.plain AND r.borough_id IS NULL",
        "'''' || left(r.borough_code, 60) || ''' is not a London borough GSS code (E09000001 to E09000033).'",
    ),
    (
        IssueCode.UNKNOWN_ORGANISATION,
        "'organisation'",
        "r.plain AND r.organisation_id IS NULL",
        "'There is no organisation ''' || left(r.org_slug, 80) || '''.'",
    ),
    (
        IssueCode.ORGANISATION_NOT_ALLOWED,
        "'organisation'",
        "r.plain AND r.organisation_id IS NOT NULL AND NOT r.org_allowed",
        "'You cannot submit data for ''' || r.org_slug || '''.'",
    ),
    (
        IssueCode.BOROUGH_NOT_SERVED,
        "'borough_code'",
        "r.plain AND r.org_allowed AND r.borough_id IS NOT NULL AND NOT r.borough_served",
        "'''' || r.org_slug || ''' does not serve ' || r.borough_code "
        "|| '. Organisation admins list the boroughs served.'",
    ),
    (
        IssueCode.PERIOD_MALFORMED,
        "'period'",
        "r.plain AND (NOT r.period_wellformed OR r.period_early)",
        "CASE WHEN r.period_early THEN '''' || r.period || ''' is too early: periods from {first_year} on are"
        " accepted.' ELSE '''' || left(r.period, 40) "
        "|| ''' is not a period. Write months as 2026-04, quarters as 2026-Q1 (financial quarters as"
        " 2025-26 Q1), years as 2026.' END",
    ),
    (
        IssueCode.PERIOD_WRONG_TYPE,
        "'period'",
        "r.plain AND r.period_wellformed AND NOT r.period_early AND r.indicator_id IS NOT NULL"
        " AND r.period_start IS NULL",
        "CASE WHEN r.financial_quarters THEN '''' || r.period || ''' is not a financial quarter; ' "
        "|| r.indicator_code || ' is reported by NHS financial quarter (April start), written as 2025-26 Q1.'"
        " ELSE '''' || r.period || ''' is not a ' || r.period_type || '; ' || r.indicator_code "
        "|| ' is reported by ' || r.period_type || '.' END",
    ),
    (
        IssueCode.PERIOD_FUTURE,
        "'period'",
        "r.plain AND r.period_future",
        "'The period ' || r.period || ' has not ended yet.'",
    ),
    (
        IssueCode.NUMERATOR_INVALID,
        "'numerator'",
        "r.plain AND r.num IS NULL",
        "CASE WHEN r.measure = 'mean' THEN '''' || left(r.numerator, 40) || ''' is not a non-negative number"
        " (up to 4 decimal places).' ELSE '''' || left(r.numerator, 40) || ''' is not a non-negative whole number"
        " (decimals are allowed only for means).' END",
    ),
    (
        IssueCode.DENOMINATOR_MISSING,
        "'denominator'",
        "r.plain AND r.measure IN ('proportion', 'mean') AND r.denominator = ''",
        "'A ' || r.measure || ' needs a denominator.'",
    ),
    (
        IssueCode.DENOMINATOR_INVALID,
        "'denominator'",
        "r.plain AND r.denominator <> '' AND r.den IS NULL",
        "'''' || left(r.denominator, 40) || ''' is not a positive whole number.'",
    ),
    (
        IssueCode.NUMERATOR_ABOVE_DENOMINATOR,
        "'numerator'",
        "r.plain AND r.measure = 'proportion' AND r.num > r.den",
        "'The numerator ' || r.num || ' is above the denominator ' || r.den || '.'",
    ),
    (
        IssueCode.NOTE_TOO_LONG,
        "'note'",
        f"r.plain AND length(r.note) > {MAX_NOTE_CHARS}",
        f"'The note has ' || length(r.note) || ' characters; the most is {MAX_NOTE_CHARS:,}.'",
    ),
    (
        IssueCode.GROUP_WITHOUT_BREAKDOWN,
        "'breakdown'",
        "r.plain AND r.breakdown_code = '' AND r.group_code <> ''",
        "'The group ''' || left(r.group_code, 40) || ''' has no breakdown: give the breakdown too (ethnicity, age,"
        " sex or deprivation), or leave both blank for all people.'",
    ),
    (
        IssueCode.BREAKDOWN_WITHOUT_GROUP,
        "'group'",
        "r.plain AND r.breakdown_code <> '' AND r.group_code = ''",
        "'The breakdown ''' || left(r.breakdown_code, 40) || ''' has no group: give the group too, or leave both"
        " blank for all people.'",
    ),
    (
        IssueCode.UNKNOWN_BREAKDOWN,
        "'breakdown'",
        "r.plain AND r.breakdown_code <> '' AND NOT r.breakdown_known",
        "'''' || left(r.breakdown_code, 40) || ''' is not a breakdown: use ethnicity, age, sex or deprivation.'",
    ),
    (
        IssueCode.BREAKDOWN_NOT_ACCEPTED,
        "'breakdown'",
        "r.plain AND r.breakdown_known AND r.indicator_id IS NOT NULL AND NOT r.breakdown_accepted",
        "r.indicator_code || ' does not accept the ' || r.breakdown_code || ' breakdown; ' || CASE"
        " WHEN r.accepted_breakdowns = '' THEN 'it accepts values for all people only.'"
        " ELSE 'it accepts: ' || r.accepted_breakdowns || '.' END",
    ),
    (
        IssueCode.UNKNOWN_GROUP,
        "'group'",
        "r.plain AND r.breakdown_accepted AND r.group_code <> '' AND NOT r.group_known",
        "'''' || left(r.group_code, 40) || ''' is not a group of the ' || r.breakdown_code || ' breakdown of '"
        " || r.indicator_code || ': use one of ' || r.group_codes || '.'",
    ),
    (
        IssueCode.GROUPS_ABOVE_TOTAL,
        "'numerator'",
        "r.plain AND r.group_sum IS NOT NULL",
        "'The ' || r.breakdown_code || ' groups of this indicator, borough, period and organisation add up to '"
        " || r.group_sum || ', more than the all-people total of ' || r.headline_total || '.'",
    ),
    (
        IssueCode.DUPLICATE_KEY,
        "''",
        "r.plain AND r.dup",
        "'The same indicator, borough, period, organisation and group appear on ' || r.key_count"
        " || ' rows (first on row ' || r.first_row || '). Keep one.'",
    ),
    (
        IssueCode.APPROVED_LOCKED,
        "''",
        "r.plain AND r.existing_status = 'approved' AND NOT r.same AND NOT %(amend)s",
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
    by_borough: dict[int, int] = field(default_factory=dict)  # borough id -> values new or changed


def _column_sql(trim: bool, groups: bool = True) -> dict[str, str]:
    """SQL for each staged cell, trimmed in SQL only when the bytes showed blanks around a cell;
    without `groups` (no breakdown or group column) the breakdown and group are constant ''."""

    def cell(column: str) -> str:
        return f"btrim(st.{column}, E' \\t\\r\\n')" if trim else f"st.{column}"

    return {
        "indicator": cell("indicator_code"),
        "borough": cell("borough_code"),
        "period": cell("period"),
        "num": cell("numerator"),
        "den": cell("denominator"),
        "note": cell("note"),
        "org": f"COALESCE(NULLIF({cell('organisation')}, ''), %(default_org_slug)s)",
        "org_cell": cell("organisation"),
        "breakdown": f"lower({cell('breakdown')})" if groups else "''",
        "group": f"lower({cell('population_group')})" if groups else "''",
    }


def _formula_sql(columns: dict[str, str]) -> str:
    """The first column (in ALL_COLUMNS order) whose cell starts like a formula, or ''."""
    prefixes = ", ".join(f"'{p}'" for p in FORMULA_PREFIXES)
    cells = [
        ("indicator_code", columns["indicator"]),
        ("borough_code", columns["borough"]),
        ("period", columns["period"]),
        ("numerator", columns["num"]),
        ("denominator", columns["den"]),
        ("note", columns["note"]),
        ("organisation", columns["org_cell"]),
        *([("breakdown", columns["breakdown"]), ("group", columns["group"])] if columns["breakdown"] != "''" else []),
    ]
    whens = " ".join(f"WHEN left({sql_}, 1) IN ({prefixes}) THEN '{name}'" for name, sql_ in cells)
    return f"CASE {whens} ELSE '' END"


def _staging_flags(cursor: Any, submission_id: int) -> tuple[bool, bool, bool]:
    cursor.execute("SELECT obj_description(%s::regclass, 'pg_class')", [_staging(submission_id)])
    comment = (cursor.fetchone() or [""])[0] or ""
    return "trim=1" in comment, "formula=0" not in comment, "groups=0" not in comment


def _params(submission: Submission, allowed_org_ids: list[int], default_org_slug: str) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "default_org_slug": default_org_slug,
        "allowed_orgs": sorted(allowed_org_ids) or [0],
        "month_re": PERIOD_SQL_PATTERNS[PeriodType.MONTH],
        "quarter_re": PERIOD_SQL_PATTERNS[PeriodType.QUARTER],
        "year_re": PERIOD_SQL_PATTERNS[PeriodType.YEAR],
        "fquarter_re": FINANCIAL_QUARTER_SQL_PATTERN,
        "mean_re": r"^[0-9]{1,13}([.][0-9]{1,4})?$",
        "today": today,
        "first": dt.date(FIRST_YEAR, 1, 1),
        "last": dt.date(today.year + 1, 12, 1),
        "amend": submission.amend_approved,
        "submission_id": submission.pk,
        "breakdowns": list(Breakdown.values),
        "fixed_breakdowns": [b for b, groups in FIXED_GROUPS.items() for _ in groups],
        "fixed_groups": [code for groups in FIXED_GROUPS.values() for code, _ in groups],
        "fixed_order": [n for groups in FIXED_GROUPS.values() for n in range(1, len(groups) + 1)],
        "not_known": NOT_KNOWN,
    }


def _prepare(cursor: Any, submission: Submission, params: dict[str, Any]) -> tuple[dict[str, str], str | None, bool]:
    """Session settings, the writers' lock and the lookup tables; the cell SQL to use, and
    whether the rows may be for population groups."""
    trim, formula, groups = _staging_flags(cursor, submission.pk)
    columns = _column_sql(trim, groups)
    # One big sort at most, in memory; and no JIT, whose compile time for these wide
    # expressions (~0.5 s) outweighs what it saves.
    cursor.execute(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'")
    cursor.execute("SET LOCAL jit = off")
    if not submission.dry_run:
        # Serialise writers of the same organisations' values, so that what we find stored
        # now is still what is stored when we write (hence a plain INSERT for new keys).
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('outcomes.import'), (id %% 2147483647)::int)"
            " FROM unnest(%(allowed_orgs)s::bigint[]) id ORDER BY id",
            params,
        )
    cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_TEMP_TABLES)}")
    cursor.execute(_LOOKUPS_SQL.format(first_year=FIRST_YEAR), params)
    return columns, (_formula_sql(columns) if formula else None), groups


def _resolve_sql(submission_id: int, columns: dict[str, str], formula: str | None, groups: bool) -> str:
    return _RESOLVE_SQL.format(
        staging=_staging(submission_id),
        max_note=MAX_NOTE_CHARS,
        formula_column=f", {formula} AS formula_column" if formula else "",
        formula_q="q.formula_column <> ''" if formula else "false",
        # A headline row is group 0; a group row takes its rank from lmh_groups, or none
        # (an error) when the indicator does not accept that breakdown and group.
        g=(
            f"CASE WHEN {columns['breakdown']} = '' AND {columns['group']} = '' THEN 0 ELSE l3.g END" if groups else "0"
        ),
        group_join=(
            f"LEFT JOIN lmh_groups l3 ON l3.indicator_id = l2.indicator_id AND l3.breakdown = {columns['breakdown']}"
            f" AND l3.grp = {columns['group']}"
            if groups
            else ""
        ),
        g_order=", g" if groups else "",
        **columns,
    )


def _find_duplicates(cursor: Any, groups: bool) -> None:
    """Mark every row whose key appears more than once (rows without a key are in error anyway)."""
    key = "k, g" if groups else "k"
    try:
        with transaction.atomic():
            cursor.execute(f"CREATE UNIQUE INDEX lmh_resolved_key ON lmh_resolved ({key})")
    except IntegrityError:
        cursor.execute(
            "UPDATE lmh_resolved r SET dup = true, err = true FROM (SELECT k, g FROM lmh_resolved"
            " WHERE k IS NOT NULL AND g IS NOT NULL GROUP BY k, g HAVING count(*) > 1) d"
            " WHERE r.k = d.k AND r.g = d.g"
        )


# For counts: the groups of one breakdown may not add up to more than the all-people value of
# the same provider, indicator, borough and period - the headline in the file, or else the one
# stored. Every group row of such a breakdown is in error.
_OVER_TOTAL_SQL = """
CREATE TEMP TABLE lmh_over ON COMMIT DROP AS
SELECT s.organisation_id, s.indicator_id, s.borough_id, s.period_start, s.breakdown, s.group_sum,
       COALESCE(h.total, sv.numerator) AS total
FROM (
    SELECT organisation_id, indicator_id, borough_id, period_start, breakdown, sum(num) AS group_sum
    FROM lmh_resolved
    WHERE breakdown <> '' AND g IS NOT NULL AND num IS NOT NULL AND organisation_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
) s
JOIN outcomes_indicator i ON i.id = s.indicator_id AND i.measure = 'count'
LEFT JOIN (
    SELECT organisation_id, indicator_id, borough_id, period_start, min(num) AS total
    FROM lmh_resolved WHERE breakdown = '' AND num IS NOT NULL AND organisation_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
) h USING (organisation_id, indicator_id, borough_id, period_start)
LEFT JOIN outcomes_outcomevalue sv
    ON sv.organisation_id = s.organisation_id AND sv.indicator_id = s.indicator_id AND sv.borough_id = s.borough_id
   AND sv.period_start = s.period_start AND sv.breakdown = '' AND sv.population_group = ''
WHERE s.group_sum > COALESCE(h.total, sv.numerator);

UPDATE lmh_resolved r SET err = true
FROM lmh_over o
WHERE r.organisation_id = o.organisation_id AND r.indicator_id = o.indicator_id AND r.borough_id = o.borough_id
  AND r.period_start = o.period_start AND r.breakdown = o.breakdown;
"""


def validate_and_write(submission: Submission, allowed_org_ids: list[int], default_org_slug: str) -> ImportCounts:
    """Validate the staged rows and upsert the good ones. Runs inside the caller's transaction."""
    counts = ImportCounts()
    params = _params(submission, allowed_org_ids, default_org_slug)
    with connection.cursor() as cursor:
        publish_progress(submission.pk, 0, "validating")
        columns, formula, groups = _prepare(cursor, submission, params)
        # Hash joins against the small lookups: the planner, without statistics on the fresh
        # staging table, would otherwise sort a million rows for merge joins.
        cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute(_resolve_sql(submission.pk, columns, formula, groups), params)
        cursor.execute("SET LOCAL enable_mergejoin TO DEFAULT")
        _find_duplicates(cursor, groups)
        if groups:
            cursor.execute(_OVER_TOTAL_SQL)
        # Counts and touched cells in one pass over the narrow resolved table.
        cursor.execute(
            "SELECT indicator_id, period_start, count(*) FILTER (WHERE err),"
            " count(*) FILTER (WHERE NOT err AND existing_id IS NULL),"
            " count(*) FILTER (WHERE NOT err AND existing_id IS NOT NULL AND NOT same),"
            " count(*) FILTER (WHERE NOT err AND same), borough_id"
            " FROM lmh_resolved GROUP BY 1, 2, borough_id"
        )
        cells = set()
        for indicator_id, period_start, rejected, created, updated, unchanged, borough_id in cursor.fetchall():
            counts.rejected += rejected
            counts.created += created
            counts.updated += updated
            counts.unchanged += unchanged
            if (created or updated) and indicator_id is not None:
                cells.add((indicator_id, period_start.isoformat()))
                counts.by_borough[borough_id] = counts.by_borough.get(borough_id, 0) + created + updated
        counts.cells = sorted(cells)
        if counts.rejected:
            _explain(cursor, submission, params, columns, formula or "''", counts.rejected, groups)
        if counts.created or counts.updated:
            counts.warnings = _outlier_warnings(cursor, params)
        if submission.atomic and counts.rejected:
            counts.created = counts.updated = counts.unchanged = 0
            counts.cells, counts.by_borough = [], {}
        elif submission.dry_run:
            counts.cells, counts.by_borough = [], {}
        else:
            _write(cursor, submission, params, counts)
        cursor.execute("SET LOCAL work_mem TO DEFAULT; SET LOCAL jit TO DEFAULT")
    return counts


def _explain(
    cursor: Any,
    submission: Submission,
    params: dict[str, Any],
    columns: dict[str, str],
    formula: str,
    rejected: int,
    groups: bool,
) -> None:
    checks = " UNION ALL ".join(
        f"SELECT r.row_number, {column} AS col, '{code}' AS code, {message} AS message FROM r WHERE {condition}"  # noqa: S608 - constant _CHECKS
        for code, column, condition, message in _CHECKS
    )
    # Built only from the constant _CHECKS table and column expressions above: no user text
    # reaches the SQL (user text travels as parameters).
    explain = _EXPLAIN_SQL.format(
        staging=_staging(submission.pk),
        formula_column=formula,
        first_year=FIRST_YEAR,
        checks=checks.replace("{first_year}", str(FIRST_YEAR)),
        over_join=(
            "LEFT JOIN lmh_over ov ON ov.organisation_id = r.organisation_id AND ov.indicator_id = r.indicator_id"
            " AND ov.borough_id = r.borough_id AND ov.period_start = r.period_start AND ov.breakdown = r.breakdown"
            if groups
            else ""
        ),
        over_columns="ov.group_sum, ov.total AS headline_total"
        if groups
        else "NULL::numeric AS group_sum, NULL::numeric AS headline_total",
        **columns,
    )
    cursor.execute(explain, params)
    cursor.execute(
        "SELECT count(DISTINCT row_number) FROM outcomes_submissionissue"
        " WHERE submission_id = %s AND severity = 'error' AND row_number IS NOT NULL",
        [submission.pk],
    )
    explained = cursor.fetchone()[0]
    if explained != rejected:
        logger.error("submission %s: %s rows rejected but %s explained", submission.pk, rejected, explained)


def _write(cursor: Any, submission: Submission, params: dict[str, Any], counts: ImportCounts) -> None:
    """INSERT the new keys and UPDATE the changed values, in chunks of the resolved table."""
    if not (counts.created or counts.updated):
        return
    cursor.execute("SELECT pg_relation_size('lmh_resolved') / current_setting('block_size')::int")
    blocks = max(1, cursor.fetchone()[0])
    total = counts.created + counts.updated + counts.unchanged + counts.rejected
    step = max(1, blocks * CHUNK_ROWS // max(1, total))
    params = {**params, "now": timezone.now(), "submitted": ValueStatus.SUBMITTED}
    done = 0
    for start in range(0, blocks, step):
        chunk = {**params, "low": f"({start},0)", "high": f"({start + step},0)"}
        if counts.created:
            cursor.execute(
                "INSERT INTO outcomes_outcomevalue (organisation_id, indicator_id, borough_id, period_start, breakdown,"
                " population_group, numerator, denominator, note, status, query_message, submission_id, submitted_at)"
                " SELECT organisation_id, indicator_id, borough_id, period_start, breakdown, population_group,"
                "  num, den, note,"
                "  %(submitted)s, '', %(submission_id)s, %(now)s"
                " FROM lmh_resolved WHERE ctid >= %(low)s::tid AND ctid < %(high)s::tid"
                " AND NOT err AND existing_id IS NULL",
                chunk,
            )
            done += cursor.rowcount
        if counts.updated:
            cursor.execute(
                "UPDATE outcomes_outcomevalue v SET numerator = r.num, denominator = r.den, note = r.note,"
                " status = %(submitted)s, query_message = '', submission_id = %(submission_id)s,"
                " submitted_at = %(now)s, reviewed_by_id = NULL, reviewed_at = NULL"
                " FROM lmh_resolved r WHERE r.ctid >= %(low)s::tid AND r.ctid < %(high)s::tid"
                " AND v.id = r.existing_id AND NOT r.err AND NOT r.same"
                # A value approved since we looked stays as it is (amend_approved says otherwise).
                " AND (v.status <> 'approved' OR %(amend)s)",
                chunk,
            )
            done += cursor.rowcount
        publish_progress(submission.pk, done, "writing")


def _in_unit(expr: str) -> str:
    """SQL writing a value's figure in its indicator's unit, as kernel.numbers.format_in_unit does:
    a proportion's share as a percentage to one place (81.5%; written '%%' as the query has
    parameters), a mean to two places, a count or a rate's events with thousands separators;
    never in exponent form. Needs the indicator as `i`."""
    return (
        f"CASE i.measure WHEN 'proportion' THEN to_char(round(({expr}) * 100, 1), 'FM999,999,999,990.0') || '%%'"
        f" WHEN 'mean' THEN to_char(round({expr}, 2), 'FM999,999,999,990.00')"
        f" ELSE rtrim(rtrim(to_char(round({expr}, 4), 'FM999,999,999,999,990.0000'), '0'), '.') END"
    )


def _outlier_warnings(cursor: Any, params: dict[str, Any]) -> int:
    """Warn (never reject) where a new or changed value is unusual for its provider and borough.

    |z| > 3 against the mean and standard deviation of that provider-borough-indicator's
    stored values, or a modified z (0.6745 (x - median) / MAD) above 3.5; at least four
    stored values are needed. Proportions and means compare numerator / denominator. Skipped
    outright when the organisations have no stored values.
    """
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM outcomes_outcomevalue WHERE organisation_id = ANY(%(allowed_orgs)s))", params
    )
    if not cursor.fetchone()[0]:
        return 0
    # The statistics go to a table of their own, so that the planner knows how many keys
    # there are when it joins them back (as CTEs it guessed a handful, and a nested loop over
    # 16,500 keys took half a minute). The history is read by index, key by key. Each key's
    # median absolute deviation comes from that key's own values, kept as an array beside its
    # median: joining the medians back to the history instead let the planner, which cannot size
    # either side, loop over every history row for each key (16,500 keys onto 1,000,000 stored
    # values took 15 minutes).
    cursor.execute(
        """
        CREATE TEMP TABLE lmh_stats ON COMMIT DROP AS
        WITH keys AS (
            SELECT DISTINCT organisation_id, indicator_id, borough_id, breakdown, population_group
            FROM lmh_resolved WHERE NOT err AND NOT same
        ),
        stats AS (
            SELECT organisation_id, indicator_id, borough_id, breakdown, population_group, avg(x) AS mean,
                   stddev_samp(x) AS sd, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS median,
                   array_agg(x) AS xs
            FROM (SELECT v.organisation_id, v.indicator_id, v.borough_id, v.breakdown, v.population_group,
                         CASE WHEN v.denominator IS NULL THEN v.numerator::float8
                              ELSE v.numerator::float8 / v.denominator END AS x
                  FROM keys JOIN outcomes_outcomevalue v
                      USING (organisation_id, indicator_id, borough_id, breakdown, population_group)) hist
            GROUP BY 1, 2, 3, 4, 5 HAVING count(*) >= 4
        )
        SELECT s.organisation_id, s.indicator_id, s.borough_id, s.breakdown, s.population_group, s.mean, s.sd,
               s.median,
               (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(x - s.median)) FROM unnest(s.xs) AS x) AS mad
        FROM stats s
        """
    )
    value, usual = _in_unit("f.x"), _in_unit("s.median::numeric")
    cursor.execute(
        f"""
        INSERT INTO outcomes_submissionissue (submission_id, row_number, "column", code, message, severity)
        SELECT %(submission_id)s, f.row_number, 'numerator', 'outlier',
               'This value (' || {value} || ') is unusual for this provider and borough: the'
               || ' usual value is ' || {usual} || '. Check it; it has not been rejected.', 'warning'
        FROM (
            SELECT row_number, organisation_id, indicator_id, borough_id, breakdown, population_group,
                   CASE WHEN den IS NULL THEN num ELSE num / den END AS x
            FROM lmh_resolved WHERE NOT err AND NOT same
        ) f
        JOIN lmh_stats s USING (organisation_id, indicator_id, borough_id, breakdown, population_group)
        JOIN outcomes_indicator i ON i.id = f.indicator_id
        WHERE (s.sd > 0 AND abs(f.x::float8 - s.mean) / s.sd > 3)
           OR (s.mad > 0 AND 0.6745 * abs(f.x::float8 - s.median) / s.mad > 3.5)
        """,  # noqa: S608 - the slots are our own fragments; values are parameters
        params,
    )
    return cursor.rowcount


def drop_work_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_TEMP_TABLES)}")


# The whole run --------------------------------------------------------------------------


def record_file_problem(submission: Submission, problem: FileRejected) -> None:
    SubmissionIssue.objects.create(
        submission=submission,
        row_number=problem.row_number,
        code=problem.code,
        message=problem.message,
        severity=SubmissionIssue.Severity.ERROR,
    )


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
