"""Standardizers for contact data, one module per kind of value.

The pipeline calls :func:`accord.standardize.stage.standardize_columns`.
"""
