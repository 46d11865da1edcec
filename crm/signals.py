from django.dispatch import Signal

# Sent inside the transaction that wrote a LeadEvent; receivers get ``event``.
lead_event_recorded = Signal()

# Sent when an external integration (a WordPress source, ...) fails in a way people must act on;
# receivers get ``kind`` (e.g. "wordpress_source"), ``name``, ``error`` and ``admin_url``.
integration_failed = Signal()
