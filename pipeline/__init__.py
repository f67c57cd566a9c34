"""Retail-bank customer analytics: staged ETL, scores and branch reports."""

__version__ = "0.1.0"
