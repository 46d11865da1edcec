"""The alert channels shipped with the project, one module each; ``alerts.registry`` loads those named in
``settings.ALERT_CHANNELS``."""

from alerts.registry import choices

__all__ = ["choices"]  # named by migration 0007
