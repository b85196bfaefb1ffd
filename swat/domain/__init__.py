"""Plain-Python rules of the desk: no Flask, no SQLAlchemy."""
