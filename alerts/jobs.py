"""Alert jobs run by RQ workers (enqueued by dotted name, e.g. ``alerts.jobs.deliver``)."""

from collections.abc import Iterable

from . import delivery, digests, services, wakeup


def deliver(causes: Iterable[str] = (), ids: Iterable[int] = ()) -> int:
    wakeup.clear_wake_flag()
    return delivery.deliver(causes=causes, ids=ids)


def sweep() -> int:
    return wakeup.sweep()


def check_breaches() -> int:
    return services.check_breaches()


def remind_follow_ups() -> int:
    return services.remind_follow_ups()


def send_digests() -> int:
    return digests.send_digests()
