"""Who may receive a lead form's notification email: the lead's details go to its readers only."""

from collections.abc import Iterable

from django.db.models import Q

from crm.models import Brand, Role, User


def notification_addresses(to_address: str | None) -> list[str]:
    """The addresses of a page's comma-separated ``to_address``."""
    return [address.strip() for address in (to_address or "").split(",") if address.strip()]


def allowed_recipients(addresses: Iterable[str], brand: Brand) -> list[str]:
    """The addresses that belong to active people who may read this brand's leads (admins, its managers).

    Notifications carry the lead's details, so they never go to marketing or to outside addresses.
    """
    readers = User.objects.filter(is_active=True).filter(
        Q(role=Role.ADMIN) | Q(role=Role.MANAGER, brands=brand)
    )
    known = {email.lower() for email in readers.values_list("email", flat=True) if email}
    return [address for address in addresses if address.lower() in known]
