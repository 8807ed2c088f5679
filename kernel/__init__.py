"""The shared kernel: what every app builds on, and nothing app-specific.

- `api`: the API's conventions (problem details, pagination, ETags);
- `concurrency`: versioned records and stale-edit refusal;
- `history`: readable history from django-pghistory events;
- `forms`: the NHS.UK date field and form helpers;
- `markdown`: safe Markdown rendering;
- `numbers`: the one number formatter;
- `downloads`: CSV and JSON text for every download;
- `hostile`: hostile input (bytes, nesting) refused with a clear 4xx;
- `cache`: the fail-open Redis cache.

The kernel imports no app; the apps import it. The layers (wiring on top, then commissioning,
actionplan, outcomes, stakeholders, and the kernel at the bottom) are a contract that
import-linter keeps (`[tool.importlinter]` in pyproject.toml, run by `make test`).
"""
