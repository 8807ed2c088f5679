"""Demo data for open data: publish the package of the demo's figures, so /open-data/ has files.

Keep after the outcomes demo (which computes the metrics). Idempotent: a second run finds the
same figures and publishes nothing.
"""

from __future__ import annotations

from opendata import services


def seed() -> int:
    """Publish the first (or a changed) revision; how many revisions were published (0 or 1)."""
    return 1 if services.package_publish(actor=None) else 0
