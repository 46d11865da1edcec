"""Lead administration in the Wagtail admin (snippet viewset and custom views)."""
