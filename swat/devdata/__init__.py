"""Made-up data for development and benchmarks: the demo accounts (`swat demo`, `swat setup`)
and bulk consultations (`swat seed`).

Only the `swat` command imports this package; the web, the API, the jobs and the services
never do, so nothing here can run in a request. Generated consultations live through the
same domain rules as filed ones (the transition table of domain.states, the SLA timers of
domain.sla on the business calendar); tests/devdata checks that a seeded consultation and
one worked through the services leave the same rows.
"""
