"""Agreed performance statements for outcome-linked payments (issue 22): models, services, pages, API."""
