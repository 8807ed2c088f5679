"""Duplicated work across plans, found and merged (issue 23): candidate pairs, dismissals, merges, splits."""
