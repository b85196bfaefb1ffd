"""What the database's errors mean to the rest of the desk, named once.

The web layer answers these with its "try again" page (503): the server could not be
reached, the connection broke, the pool had no connection free, or the database gave up
on the statement for a reason of its own (a lock or statement timeout, a deadlock).
None of them is the request's fault, and trying again later is the right advice.
"""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)
