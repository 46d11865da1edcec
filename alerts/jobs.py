"""Alert jobs run by RQ workers; each is a thin call into ``alerts.services``."""

from . import services


def deliver(causes=(), ids=()):
    services.clear_wake_flag()
    return services.deliver(causes=causes, ids=ids)


def sweep():
    return services.sweep()


def check_breaches():
    return services.check_breaches()


def send_digests():
    return services.send_digests()
