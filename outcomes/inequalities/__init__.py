"""The inequalities page and API: an indicator's figures by population group, the gap between
the best and worst group and whether it is closing (issue 21). Reads only: the figures are built
by outcomes.aggregation."""
