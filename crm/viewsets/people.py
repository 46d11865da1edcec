"""User management in the Wagtail admin, limited by role (see ``crm.roles``)."""

from wagtail.users.views.users import UserViewSet as WagtailUserViewSet


class UserViewSet(WagtailUserViewSet):
    pass
