from django.dispatch import Signal

# Sent inside the transaction that wrote a LeadEvent; receivers get ``event``.
lead_event_recorded = Signal()

# Sent once inside the transaction of a batch write (``crm.intake.create_leads`` and the like)
# instead of one ``lead_event_recorded`` per event; receivers get ``events``, a list of saved
# LeadEvents (with their leads attached), and must handle them in bulk.
lead_events_recorded = Signal()

# Sent when an external integration (a WordPress source, ...) fails in a way people must act on;
# receivers get ``kind`` (e.g. "wordpress_source"), ``name``, ``error`` and ``admin_url``.
integration_failed = Signal()
