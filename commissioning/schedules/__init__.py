"""Reporting schedules: what each provider is expected to submit, completeness and reminders (issue 22).

Models in ``models.py`` (imported by ``commissioning.models``); writes in ``services.py``;
reads (completeness) in ``selectors.py``; every "may this user" in ``permissions.py``.
"""
