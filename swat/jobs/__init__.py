"""Background work, run by `swat scheduler` in one separate process (never in web workers)."""
