"""Leavers (policy 7.2): when a person leaves, their grants end and every credential they could know is
flagged for rotation; and which secrets each leaver saw that are not rotated since.

:func:`leaver` runs as a receiver of :data:`registry.auth.signals.user_left` (see
:mod:`registry.roster.subscriptions`), inside the deactivation's transaction: flush only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor
from registry.auth.models import User
from registry.roster.grants import LEAVER_REASON, end_grant
from registry.roster.models import RosterGrant
from registry.vault import rotation
from registry.vault.models import Credential, CredentialReveal


@dataclass
class LeaverReport:
    """What a leaver's departure changed: their grants ended, and which credentials need rotating."""

    user: User
    grants: list[RosterGrant] = field(default_factory=list)
    #: Credentials of the channels they held a role on.
    roster_credentials: list[Credential] = field(default_factory=list)
    #: Credentials whose current value they saw (revealed, copied, or used a code from), on any channel.
    seen_credentials: list[Credential] = field(default_factory=list)

    @property
    def credentials(self) -> list[Credential]:
        """Every credential flagged because of this leaver, each once."""
        unique = {c.id: c for c in [*self.roster_credentials, *self.seen_credentials]}
        return sorted(unique.values(), key=lambda c: (c.channel_id, c.kind))

    def summary(self) -> str:
        grants = len(self.grants)
        flagged = len(self.credentials)
        return (
            f"{self.user.name}: {grants} roster grant{'s' if grants != 1 else ''} ended; "
            f"{flagged} credential{'s' if flagged != 1 else ''} marked rotation required "
            f"({len(self.roster_credentials)} on channels they administered, "
            f"{len(self.seen_credentials)} whose current value they had seen)."
        )


def leaver(user: User, actor: User | Actor) -> LeaverReport:
    """A person has left: end their grants and flag every credential they could know.

    Ends each active grant that is theirs (by account, or by their e-mail address
    for a grant recorded before they had one) with "left the Trust", flagging the
    channel's credentials, and flags every credential whose current value they
    saw since its last rotation, on any channel. Flush only, so it can run inside
    :func:`registry.auth.services.deactivate`.
    """
    report = LeaverReport(user)
    held = (
        db.session()
        .execute(
            select(RosterGrant)
            .where(
                RosterGrant.revoked_at.is_(None),
                or_(
                    RosterGrant.user_id == user.id, and_(RosterGrant.user_id.is_(None), RosterGrant.email == user.email)
                ),
            )
            .order_by(RosterGrant.channel_id, RosterGrant.id)
        )
        .unique()
        .scalars()
        .all()
    )
    for each in held:
        end_grant(each, reason=LEAVER_REASON, actor=actor, action=AuditAction.ROSTER_REVOKE)
        report.grants.append(each)
    report.roster_credentials = rotation.credentials_of_channel_ids(g.channel_id for g in report.grants)
    report.seen_credentials = rotation.seen_since_rotation(user)
    rotation.mark_rotation_required(report.seen_credentials, f"seen by {user.name}, who has left", actor=actor)
    return report


@dataclass(frozen=True)
class SeenCredential:
    credential: Credential
    last_seen: dt.datetime
    #: What they did with it since its last rotation: {"reveal": 2, "copy": 1}.
    uses: dict[str, int]


@dataclass(frozen=True)
class LeaverExposure:
    user: User
    seen: list[SeenCredential]


def exposure_of_leavers() -> list[LeaverExposure]:
    """For each deactivated user, exactly which credentials they saw that have not been rotated since.

    Two queries whatever the number of leavers: one aggregate and one load.
    """
    uses = (
        db.session()
        .execute(
            select(
                CredentialReveal.user_id,
                CredentialReveal.credential_id,
                CredentialReveal.action,
                func.count().label("times"),
                func.max(CredentialReveal.occurred_at).label("last_seen"),
            )
            .join(Credential, Credential.id == CredentialReveal.credential_id)
            .join(User, User.id == CredentialReveal.user_id)
            .where(User.active.is_(False), rotation.exposes_current_value())
            .group_by(CredentialReveal.user_id, CredentialReveal.credential_id, CredentialReveal.action)
        )
        .all()
    )
    if not uses:
        return []
    counts: dict[tuple[int, int], dict[str, int]] = {}
    latest: dict[tuple[int, int], dt.datetime] = {}
    for user_id, credential_id, action, times, last_seen in uses:
        pair = (user_id, credential_id)
        counts.setdefault(pair, {})[action] = times
        latest[pair] = max(latest.get(pair, last_seen), last_seen)
    users = {
        u.id: u
        for u in db.session().execute(select(User).where(User.id.in_({user_id for user_id, _ in counts}))).scalars()
    }
    credentials = {
        c.id: c
        for c in db.session()
        .execute(select(Credential).where(Credential.id.in_({credential_id for _, credential_id in counts})))
        .unique()
        .scalars()
    }
    grouped: dict[int, list[SeenCredential]] = {}
    for (user_id, credential_id), uses_of in counts.items():
        grouped.setdefault(user_id, []).append(
            SeenCredential(credentials[credential_id], latest[(user_id, credential_id)], uses_of)
        )
    result = [
        LeaverExposure(users[user_id], sorted(seen, key=lambda s: (s.credential.channel_id, s.credential.kind)))
        for user_id, seen in grouped.items()
    ]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    result.sort(key=lambda e: (-(e.user.deactivated_at or epoch).timestamp(), e.user.name))
    return result
