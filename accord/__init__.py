"""Accord: customer data integration."""

__version__ = "0.1.0"
