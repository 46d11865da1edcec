"""Delivery channels. Each raises ``DeliveryError`` saying whether a failure is worth retrying."""


class DeliveryError(Exception):
    """A failed delivery: ``code`` is the provider's (or our) code; ``transient`` ones are retried."""

    def __init__(self, code, message, *, transient=False, needs_admin=False):
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.transient = transient
        self.needs_admin = needs_admin
