"""Tidewater: a serverless diabetes-data platform."""

__version__ = "0.1.0"
