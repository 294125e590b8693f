"""Renderers of ResultSets: they format, they never compute or measure."""
