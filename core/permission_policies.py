"""Permission policies for admin views that only some actions may reach (logs, append-only records)."""

from collections.abc import Iterable
from typing import Any

from wagtail.permission_policies.base import ModelPermissionPolicy


class LimitedActionsPolicy(ModelPermissionPolicy):
    """Model permissions restricted to some actions, whoever asks (superusers included)."""

    def __init__(self, model: type[Any], actions: Iterable[str]) -> None:
        super().__init__(model)
        self.actions = set(actions)

    def user_has_permission(self, user: Any, action: str) -> bool:
        return action in self.actions and super().user_has_permission(user, action)

    def user_has_any_permission(self, user: Any, actions: Iterable[str]) -> bool:
        return any(self.user_has_permission(user, action) for action in actions)


class ReadOnlyPolicy(LimitedActionsPolicy):
    """View and inspect only, both granted by the view permission: a log written by the services."""

    def __init__(self, model: type[Any]) -> None:
        super().__init__(model, {"view", "inspect"})

    def user_has_permission(self, user: Any, action: str) -> bool:
        return action in self.actions and ModelPermissionPolicy.user_has_permission(self, user, "view")
