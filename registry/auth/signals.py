"""What happens to an account that other packages react to, as blinker signals (as Flask and indico do).

The accounts package knows no domain: it says that a person left or that their roles changed,
and each package that must react (the roster, custody, breach reports) subscribes. The signals
live here, beside the accounts whose events they are, so a domain imports them as it already
imports the ``User`` model and every dependency points one way, from the domains to the accounts.

The contract for a receiver:

- it runs synchronously, inside the sender's unit of work: it uses ``db.session()`` and only
  flushes, so the account's change, its audit event and every reaction commit together or not
  at all;
- an exception it raises propagates out of ``send`` (blinker's behaviour, kept on purpose) and
  so aborts the whole change: a receiver never swallows an error;
- it is connected where it is defined (``@user_left.connect``), in a module its package's
  ``__init__`` imports, so importing the package (which the app factory does) connects it;
- receivers run in the order they were connected, so the audit trail of one change is the same
  every time; they must not depend on one another.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from blinker import NamedSignal

if TYPE_CHECKING:
    from registry.auth.models import User


class _ConnectionOrder(set[Any]):
    """A set that iterates in the order items were added: blinker's hook (``set_class``) for
    calling receivers in the order they were connected."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__()
        self._order: dict[Any, None] = {}
        for item in items:
            self.add(item)

    def add(self, item: Any) -> None:
        super().add(item)
        self._order[item] = None

    def discard(self, item: Any) -> None:
        super().discard(item)
        self._order.pop(item, None)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._order))

    def copy(self) -> _ConnectionOrder:
        return _ConnectionOrder(self._order)

    def __or__(self, other: Set[Any]) -> _ConnectionOrder:
        return _ConnectionOrder([*self._order, *other])


class AccountSignal(NamedSignal):
    """A blinker signal whose receivers run in the order they were connected."""

    set_class = _ConnectionOrder


user_left = AccountSignal(
    "user-left",
    doc="""A person left: their account was deactivated (``registry.auth.services.deactivate``, the one
    entry point of the leaver path). Sender: the ``User``; keyword ``actor``: who deactivated them
    (a ``User`` or a system ``Actor``). A receiver may return an :class:`Outcome`, whose summary is
    added to what the person who deactivated them is told.""",
)

roles_changed = AccountSignal(
    "roles-changed",
    doc="""A person's roles changed (``registry.auth.services.set_roles``; reactivation too). Sender: the
    ``User``; keywords ``actor``, ``before`` and ``after`` (frozensets of ``Role``): the roles lost
    are ``before - after``.""",
)


@runtime_checkable
class Outcome(Protocol):
    """What a receiver of :data:`user_left` changed, in one sentence for the person who deactivated them."""

    def summary(self) -> str: ...


@dataclass(frozen=True)
class Departure:
    """What deactivating a leaver changed beyond their account, as each package that reacted reports it."""

    user: User
    outcomes: tuple[Outcome, ...] = ()

    def summary(self) -> str:
        return " ".join(text for outcome in self.outcomes if (text := outcome.summary()))


def outcomes_of(results: Iterable[tuple[Any, Any]]) -> tuple[Outcome, ...]:
    """The :class:`Outcome` values among what ``send`` returned (receivers with nothing to say return None)."""
    return tuple(result for _, result in results if isinstance(result, Outcome))
