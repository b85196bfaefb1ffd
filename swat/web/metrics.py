"""/metrics in Prometheus text format, with the official client (prometheus-client).

Each process counts the requests it answers (by endpoint, method and status) and how long
they took. Under gunicorn, deploy/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before any
worker starts: every worker then keeps its counts in files there, and a scrape of any worker
sums them all (the client's multiprocess mode). The desk's own figures (the outbox, the
scheduler's heartbeat, each job's last run, the open consultations) are read from the
database at each scrape, so every worker and every host says the same.

Who may scrape: an address in `metrics_allow` (by default this host) or a scrape with
"Authorization: Bearer <metrics_token>"; anyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily

from .. import resources, transaction
from ..services import health, operations
from .common import now, settings

bp = Blueprint("metrics", __name__)

# Kept by each process (or, in multiprocess mode, in its files); registered with a fresh
# registry at each scrape rather than with the client's global one.
REQUESTS = Counter(
    "swat_http_requests",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    registry=None,
)
DURATION = Histogram(
    "swat_http_request_duration_seconds",
    "Time from a request's arrival to its answer, by endpoint.",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


# A method label is one of these or "other": a client's made-up method adds no series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Count every answered request, those a hook refused before the view (a bad address, a
    missing CSRF token) included: the clock starts before the boundary's guard and the CSRF check
    (only the request id's hook, swat.logs.init_app, comes before it)."""

    def _started() -> None:
        g.metrics_started = time.perf_counter()

    app.before_request_funcs.setdefault(None, []).insert(0, _started)

    @app.after_request
    def _answered(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        started = g.pop("metrics_started", None)
        if started is not None:
            DURATION.labels(endpoint).observe(time.perf_counter() - started)
        return response


def _address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-Ip")


def _client_address() -> str | None:
    """The scraper's address, when it can be believed: with proxy_count 0, a request that came
    through a proxy (it has forwarding headers) is the proxy's, not the scraper's; with a
    proxy, the address it forwarded counts only if the peer was a proxy on this host."""
    if not settings()["proxy_count"]:
        if any(request.headers.get(h) for h in FORWARDING_HEADERS):
            return None
        return request.remote_addr
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR", request.remote_addr)
    found = _address(peer or "")
    if found is None or not found.is_loopback:
        return None
    return request.remote_addr


def allowed() -> bool:
    s = settings()
    token = s["metrics_token"]
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    address = _address(_client_address() or "")
    return address is not None and any(address in network for network in s["metrics_allow"])


class DeskCollector:
    """The figures read from the database, at each scrape."""

    def collect(self):
        at = now()
        found = operations.snapshot(transaction.session(), at, health.migration_head(str(resources.MIGRATIONS)))
        up = GaugeMetricFamily("swat_database_up", "1 when the database answered this scrape.")
        up.add_metric([], 1 if found else 0)
        yield up
        if found is not None:
            yield from self._families(found, at)

    def _families(self, found: operations.Snapshot, at):
        versions = found.versions
        info = GaugeMetricFamily(
            "swat_build_info", "The desk's version and its database's migration.", labels=["version", "schema", "head"]
        )
        info.add_metric([versions.desk, versions.schema, versions.head], 1)
        yield info

        gauges = {
            "pending": ("swat_outbox_pending", "Messages not yet sent (waiting, retrying or due), by channel."),
            "due": ("swat_outbox_due", "Messages that may go now (the delivery lag's size), by channel."),
            "retrying": ("swat_outbox_retrying", "Messages waiting after at least one failed attempt, by channel."),
            "failed": ("swat_outbox_failed", "Messages that gave up and wait for an admin (status page), by channel."),
        }
        families = {k: GaugeMetricFamily(name, text, labels=["channel"]) for k, (name, text) in gauges.items()}
        oldest = GaugeMetricFamily(
            "swat_outbox_oldest_pending_age_seconds",
            "Age of the oldest message not yet sent (0 when none), by channel.",
            labels=["channel"],
        )
        for line in found.outbox:
            for key, family in families.items():
                family.add_metric([line.channel], getattr(line, key))
            oldest.add_metric([line.channel], line.oldest_age_seconds(at))
        yield from families.values()
        yield oldest

        beat = found.heartbeat
        age = GaugeMetricFamily(
            "swat_scheduler_heartbeat_age_seconds",
            "Seconds since the scheduler's last heartbeat (+Inf if it never beat); it beats each minute.",
        )
        age.add_metric([], max(0.0, (at - beat.beat_at).total_seconds()) if beat else math.inf)
        yield age

        took = GaugeMetricFamily(
            "swat_job_last_run_duration_seconds",
            "How long each job's last run took (sla-sweep: the SLA sweep).",
            labels=["job"],
        )
        ran = GaugeMetricFamily(
            "swat_job_last_run_age_seconds", "Seconds since each job's last run ended.", labels=["job"]
        )
        went = GaugeMetricFamily(
            "swat_job_last_run_ok", "1 when each job's last run went well, 0 when it failed.", labels=["job"]
        )
        counted = GaugeMetricFamily(
            "swat_job_last_run_items",
            "What each job's last run counted (sent, failed, escalated …).",
            labels=["job", "item"],
        )
        for run in found.runs:
            took.add_metric([run.name], run.duration_ms / 1000)
            ran.add_metric([run.name], max(0.0, (at - run.finished_at).total_seconds()))
            went.add_metric([run.name], 1 if run.ok else 0)
            for key, value in operations.counted(run).items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    counted.add_metric([run.name, key], value)
        yield from (took, ran, went, counted)

        tickets = GaugeMetricFamily("swat_tickets_open", "Open consultations, by status.", labels=["status"])
        for status, count in found.open_by_status.items():
            tickets.add_metric([status], count)
        yield tickets


@bp.get("/metrics")
def scrape():
    if not allowed():
        return Response("forbidden: this address may not read /metrics\n", 403, mimetype="text/plain")
    registry = CollectorRegistry()
    if _multiprocess():
        prometheus_multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(DURATION)
    registry.register(DeskCollector())
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
