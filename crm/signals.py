from django.dispatch import Signal

# Sent inside the transaction that wrote a LeadEvent; receivers get ``event``.
lead_event_recorded = Signal()
