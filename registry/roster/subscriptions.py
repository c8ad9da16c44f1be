"""What the roster does when a person leaves (a receiver of :mod:`registry.auth.signals`).

Their grants end, and every credential they could know is flagged for rotation (see
:func:`registry.roster.leavers.leaver`), in the deactivation's transaction; an error here
propagates and undoes the deactivation.

The package's ``__init__`` imports this module, so the receiver is connected whenever anything of
the package is (its models are, by the models list, before the services can be): that is why
the receiver imports the services when it first runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.auth.signals import user_left

if TYPE_CHECKING:
    from registry.audit.services import Actor
    from registry.auth.models import User
    from registry.roster.leavers import LeaverReport


@user_left.connect
def grants_of_a_leaver_end(user: User, *, actor: Actor | User) -> LeaverReport:
    from registry.roster.leavers import leaver

    return leaver(user, actor)
