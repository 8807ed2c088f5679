"""Partnership decisions with recorded views, and partnership meetings (issue 22)."""
