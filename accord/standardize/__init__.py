"""Standardizers for contact data."""
