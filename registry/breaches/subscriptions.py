"""What breach reports do when an account changes (receivers of :mod:`registry.auth.signals`).

A line manager who leaves, or loses the line manager role, can no longer act on the cases waiting
for them: those go back to the communications team to route. Each receiver runs in the account
change's transaction; its errors propagate and undo that change.

The package's ``__init__`` imports this module, so the receivers are connected whenever anything of
the package is (its models are, by the audit trail and the models list, before the services can
be): that is why each receiver imports the services when it first runs.
"""

from __future__ import annotations

from collections.abc import Set
from typing import TYPE_CHECKING

from registry.auth.permissions import Role
from registry.auth.signals import roles_changed, user_left

if TYPE_CHECKING:
    from registry.audit.services import Actor
    from registry.auth.models import User


@user_left.connect
def cases_of_a_leaver_go_back_to_comms(user: User, *, actor: Actor | User) -> None:
    from registry.breaches.services import manager_cannot_act

    manager_cannot_act(user, actor)


@roles_changed.connect
def cases_of_a_former_manager_go_back_to_comms(
    user: User, *, actor: Actor | User, before: Set[Role], after: Set[Role]
) -> None:
    if Role.MANAGER in before and Role.MANAGER not in after:
        from registry.breaches.services import manager_cannot_act

        manager_cannot_act(user, actor)
