"""Commitments: who does what, signed (issue 23). Models in actionplan/models/commitments.py."""
