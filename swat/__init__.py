"""SWAT Desk: the Corona SWAT Team's internal consultation desk."""

__version__ = "0.1.0"
