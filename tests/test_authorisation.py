"""Who may use which route: every route declares a policy, and every route is
tried by every role (anonymous included) against a table written by hand from
the SPEC's role table, so a wrong role mapping fails here.

Each request is built from real objects (a channel someone else requested, a
monitoring record, another user, a token…); a request that changes something
gets objects of its own, so no request sees another's effects. Object-level rules (own requests, withdrawal by the
requester only, the four-eyes rule) are tested at the end.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse

from registry import clock, db
from registry.alerts import services as alerts
from registry.audit.models import AuditEvent
from registry.audit.services import Actor
from registry.auth import managers, setup_links
from registry.auth import services as accounts
from registry.auth.models import AccountRequest, SetupReason, User
from registry.auth.permissions import BearerClient, Permission, Role, policy_of
from registry.breaches import services as breaches
from registry.breaches.models import BreachReport
from registry.breakglass.models import EmergencyAccess
from registry.channels.models import Channel
from registry.consent import services as consents
from registry.consent.models import ConsentChecklistItem, LogoConsent
from registry.media import services as media
from registry.media.models import MediaContact
from registry.monitoring import services as monitoring
from registry.monitoring.models import UnauthorisedAccount
from registry.notifications import services as notifications
from registry.posts import services as posts
from registry.posts.models import PromotionalPost
from registry.reports import services as reports
from registry.reports.models import MonthlyReport
from registry.roster import services as roster
from registry.roster.models import AccessReviewItem, RosterGrant
from registry.vault import services as custody
from registry.vault.models import CredentialReveal
from tests.conftest import TEST_PASSWORD, Browser, csrf_token, sign_in
from tests.test_breakglass import opened

ANONYMOUS = "anonymous"
STAFF_AND_COMMS = "staff+comms"
ROLES = ("staff", "manager", "comms", "auditor", "admin", "hr", "on-call")
EVERYONE = frozenset({ANONYMOUS, *ROLES})
SIGNED_IN = frozenset(ROLES)
COMMS = frozenset({"comms"})
READERS = frozenset({"comms", "auditor"})
AUDIT_READERS = frozenset({"comms", "auditor", "admin"})
ADMIN = frozenset({"admin"})
WEBHOOK_READERS = frozenset({"auditor", "admin"})
MANAGERS = frozenset({"manager"})
HR = frozenset({"hr"})
#: Who opens and uses a break-glass emergency access (their own), and who sees one's page.
ON_CALL = frozenset({"on-call", "comms"})
EMERGENCY_READERS = frozenset({"on-call", "comms", "auditor"})
#: The matrix's users who have two-factor sign-in (make_user sets it up for comms and admins).
TWO_FACTOR_USERS = frozenset({"comms", "admin", "hr", "auditor", "on-call", STAFF_AND_COMMS})
NEW_PASSWORD = "violet kettle harbour 1987 mosaic"
ON_POSTGRES = (os.environ.get("REGISTRY_TEST_DATABASE_URL") or "").startswith("postgresql")
#: Routes that fail for the roles allowed to use them because of a reported bug. The matrix
#: requires them to keep failing (500) until the bug is fixed, then asks for the entry to go.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


@dataclass
class World:
    """Makes the objects a request needs, none of them the actor's own."""

    make_user: Callable[..., User]
    make_channel: Callable[..., Channel]
    actor: User | None
    password: str = TEST_PASSWORD
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _shown_channel: Channel | None = None
    _shown_finding: UnauthorisedAccount | None = None

    def n(self) -> int:
        return next(self.numbers)

    def other_user(self) -> User:
        return self.make_user("staff")

    def deactivated_user(self) -> User:
        user = self.other_user()
        accounts.deactivate(user, actor=Actor.system("tests"))
        db.session().commit()
        return user

    def channel(self, status: str = "active") -> Channel:
        return self.make_channel(status, handle=f"mx_{status[:4]}_{self.n()}")

    def shown_channel(self) -> Channel:
        """One active channel for requests that only read it."""
        if self._shown_channel is None:
            self._shown_channel = self.channel()
        return self._shown_channel

    def shown_finding(self) -> UnauthorisedAccount:
        """One monitoring record for requests that only read it."""
        if self._shown_finding is None:
            self._shown_finding = self.finding()
        return self._shown_finding

    def finding(self) -> UnauthorisedAccount:
        finding = monitoring.record_finding(
            platform="",
            url=f"https://x.com/fake_trust_{self.n()}",
            evidence="Uses the Trust logo.",
            found_on=None,
            actor=self.make_user("comms"),
        )
        db.session().commit()
        return finding

    def grant(self) -> RosterGrant:
        """An agency contact's role on a new active channel."""
        granted = roster.grant(
            self.channel(),
            email=f"agency{self.n()}@agency.example",
            name="Agency Person",
            organisation="Bright Agency Ltd",
            platform_role="editor",
            actor=self.make_user("comms"),
        )
        db.session().commit()
        return granted

    def review_item(self, *, decided: bool = False) -> AccessReviewItem:
        """The one item of a new access review of one grant (decided by a colleague if asked)."""
        comms = self.make_user("comms")
        review = roster.start_review(
            title="Matrix review",
            channel_ids=[self.grant().channel_id],
            due_on=clock.today(),
            actor=comms,
        )
        [item] = roster.items_of(review)
        if decided:
            roster.decide(item, "certified", None, comms)
        db.session().commit()
        return item

    def webhook(self, *, paused: bool = False) -> dict[str, Any]:
        """A webhook an administrator set up (``paused`` or active), as the route's arguments."""
        admin = self.make_user("admin")
        hook, _secret = alerts.create(
            alerts.Settings(
                name=f"Hook {self.n()}", url="https://example.org/hook", events=["media_approach"], format="json"
            ),
            admin,
        )
        if paused:
            alerts.pause(hook, admin)
        db.session().commit()
        return {"webhook_id": hook.id}

    def message_id(self) -> int:
        """A message to somebody else (nobody may read another's messages)."""
        [note] = notifications.notify(self.other_user(), event="test:x", subject="Not yours", body="Body")
        db.session().commit()
        return note.id

    def consent(self, status: str = "submitted", *, own: bool = False) -> LogoConsent:
        """A logo consent request in ``status`` (submitted, changes_requested or approved): the
        actor's own when ``own`` (object rules let only the requester see it), else someone else's."""
        requester = self.actor if own and self.actor is not None else self.other_user()
        made = consents.request_consent(_consent_answers(), [_consent_file()], requester)
        decider = self.make_user("comms")
        if status == "approved":
            consents.decide(made, "approve", decider, checked=[i.id for i in consents.active_checklist()])
        elif status == "changes_requested":
            consents.decide(made, "request_changes", decider, note="Use the supplied lozenge file.")
        db.session().commit()
        return made

    def media_contact(self, status: str = "reported", *, own: bool = False) -> MediaContact:
        """A media approach with one screenshot, in ``status`` (reported or acknowledged): the actor's
        own when ``own`` (only its reporter, comms and auditors may see it), else someone else's."""
        reporter = self.actor if own and self.actor is not None else self.other_user()
        made = media.log_approach(_media_approach(), [_consent_file()], reporter)
        if status == "acknowledged":
            media.triage(made, "acknowledge", self.make_user("comms"))
        db.session().commit()
        return made

    def checklist_item(self) -> ConsentChecklistItem:
        """A checklist item of its own, so rewording or retiring it changes nothing else."""
        item = consents.add_checklist_item(f"Matrix checklist item {self.n()}", self.make_user("comms"))
        db.session().commit()
        return item

    def post(
        self, *, by: User | None = None, findings: bool = False, image: bool = False, approved: bool = False
    ) -> PromotionalPost:
        """A promotional post for the shown (active) channel, by ``by`` (another member of staff by default)."""
        images = []
        if image:
            buffer = io.BytesIO(_png((8, 8)))
            images = [posts.NewImage(FileStorage(buffer, "matrix.png"), "A blue square.", 1)]
        post = posts.propose(
            posts.PostProposal(
                text=f"Matrix post {self.n()}" + (" for NHS number 943 476 5919" if findings else ""),
                channels=[self.shown_channel().reference],
                wished_for=clock.today() + dt.timedelta(days=1),
                reason="Matrix.",
                consent_confirmed=True,
                consent_location="Office" if image else "",
            ),
            by or self.other_user(),
            images,
        )
        if approved:
            posts.transition(post, "approve", self.make_user("comms"))
        db.session().commit()
        return post

    def own_post(self, **kwargs: Any) -> PromotionalPost:
        """The actor's own post: staff see only their own (another's is a 404, not a 403).
        Nobody signed in: someone else's (they are sent to sign in first anyway)."""
        return self.post(by=self.actor, **kwargs)

    def post_to_decide(self, **kwargs: Any) -> PromotionalPost:
        """A post the actor may open but did not propose (four-eyes); their own when they may
        see only their own, so that the refusal is the role's (403), not visibility's (404)."""
        mine = self.actor is not None and not self.actor.can(Permission.POST_READ_ALL)
        return self.post(by=self.actor if mine else None, **kwargs)

    def breach(self, status: str = "with_manager", *, own: bool = False, evidence: bool = False) -> BreachReport:
        """A breach report about a new member of staff: ``with_manager`` (assigned to the actor when
        the actor is a line manager and did not report it, else to a new manager), ``to_route``
        (nobody named) or ``with_hr`` (escalated by another manager). ``own``: the actor reported it
        (a case is seen only by those involved: anyone else gets 404)."""
        actor = self.actor
        reporter = actor if own and actor is not None else self.other_user()
        # An escalated case was escalated by someone else: whoever escalated or manages a case may
        # not record its HR outcome (four-eyes), and HR are who the matrix asks to record it.
        manages = actor is not None and not own and actor.has_role(Role.MANAGER) and status != "with_hr"
        manager = actor if manages and actor is not None else self.make_user("manager")
        subject = self.other_user()
        managers.set_line_manager(subject, manager, actor=Actor.system("tests"))
        made = breaches.report_breach(
            breaches.BreachAnswers(
                account=f"@matrix_{self.n()} on X",
                link="https://x.com/matrix/status/1",
                description="Matrix breach.",
                clauses=("6.13",),
                reputational_risk=False,
                subject_kind="unknown" if status == "to_route" else "user",
                subject_user="" if status == "to_route" else subject.email,
            ),
            [_consent_file()] if evidence else [],
            reporter,
        )
        if status == "with_hr":
            breaches.take(made, "escalate", manager, note="Needs HR.")
        db.session().commit()
        return made

    def report(self, *, issued: bool = False) -> MonthlyReport:
        """The draft monthly report of a month of its own, generated by comms (and issued if asked)."""
        index = 2024 * 12 + 11 - self.n()
        comms = self.make_user("comms")
        made = reports.generate(f"{index // 12}-{index % 12 + 1:02d}", comms)
        if issued:
            reports.issue(made, made.sha256, comms)
        db.session().commit()
        return made

    def user_without_password(self) -> User:
        """Someone added on the web pages who has not used their set-up link yet."""
        user = accounts.create_user(
            email=f"newcomer{self.n()}@example.nhs.uk",
            name="Nova Newcomer",
            roles=["staff"],
            password=None,
            actor=Actor.system("tests"),
        )
        db.session().commit()
        return user

    def account_request(self, *, own: bool = False) -> AccountRequest:
        """A request for the auditor role for another member of staff, asked by a new administrator
        (by the actor when ``own``: only the one who asked may cancel it)."""
        asker = self.actor if own and self.actor is not None else self.make_user("admin")
        made = AccountRequest(
            kind="grant_roles",
            user_id=self.other_user().id,
            roles="auditor",
            reason="Matrix.",
            requested_by_id=asker.id,
            expires_at=db.utcnow() + dt.timedelta(days=7),
        )
        db.session().add(made)
        db.session().commit()
        return made

    def setup_token(self) -> str:
        """The token of a working set-up link of another member of staff."""
        link = setup_links.issue(self.other_user(), SetupReason.NEW_ACCOUNT, actor=Actor.system("tests"), send=False)
        db.session().commit()
        return link.token

    def token_of(self, user: User) -> int:
        token, _value = accounts.create_token(user, actor=Actor.system("tests"))
        db.session().commit()
        return token.id


@dataclass(frozen=True)
class Request:
    args: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    json: dict[str, Any] | None = None


@dataclass(frozen=True)
class Expect:
    """Who may use a route and the status they get (``signed_in_status`` when signed-in people
    get another). ``fresh_client``: send it from a new signed-in browser (signing out would end
    the shared one); ``ends_at_login``: success is a redirect to the sign-in page."""

    allowed: frozenset[str]
    status: int = 200
    build: Callable[[World], Request] = lambda _world: Request()
    signed_in_status: int | None = None
    fresh_client: bool = False
    ends_at_login: bool = False
    #: Statuses for people with two-factor sign-in set up (comms and admins must have it).
    two_factor_status: int | None = None
    #: A status for one role that differs from the rest (it wins over the others).
    role_status: dict[str, int] = field(default_factory=dict)

    def status_for(self, role: str) -> int:
        if role in self.role_status:
            return self.role_status[role]
        if self.two_factor_status is not None and role in TWO_FACTOR_USERS:
            return self.two_factor_status
        if role != ANONYMOUS and self.signed_in_status is not None:
            return self.signed_in_status
        return self.status


def _channel_form(world: World) -> dict[str, Any]:
    return {
        "platform": "x",
        "handle": f"@matrix_new_{world.n()}",
        "display_name": "Matrix team",
        "department": "Maternity",
        "purpose": "Updates for parents.",
        "audience": "Parents",
        "posting_plan": "Midwives",
        "moderation_plan": "Midwives",
        "out_of_hours": "On-call comms",
        "sponsor": "Head of Midwifery",
        "proposed_administrators": "Ann Smith",
        "policy_acknowledged": "y",
    }


def _channel_json(world: World) -> dict[str, Any]:
    return {
        "platform": "instagram",
        "handle": f"matrix_api_{world.n()}",
        "display_name": "Matrix API",
        "department": "Cardiology",
        "purpose": "Heart health.",
        "audience": "Patients",
        "policy_acknowledged": True,
    }


def _edit_form(_world: World) -> dict[str, Any]:
    return {
        "display_name": "Renamed channel",
        "department": "Maternity",
        "purpose": "Updates for patients.",
        "audience": "Patients and visitors.",
    }


def _adopt_form(_world: World) -> dict[str, Any]:
    return {
        "display_name": "Adopted account",
        "department": "Estates",
        "purpose": "Car parking news.",
        "audience": "Visitors",
        "sponsor": "Director of Estates",
        "reason": "Set up before the policy.",
    }


def _new_user_form(world: World) -> dict[str, Any]:
    return {
        "name": "Matrix Newcomer",
        "email": f"newcomer{world.n()}@example.nhs.uk",
        "roles": ["staff"],
    }


def _in_custody(world: World, kind: str = "password") -> Channel:
    """A channel of someone else's with one secret of ``kind`` stored by a comms colleague."""
    channel = world.channel()
    value = "JBSWY3DPEHPK3PXP" if kind == "totp_seed" else f"matrix secret {world.n()}"
    custody.store(channel, kind, value, "Taking custody of the account.", world.make_user("comms"))
    db.session().commit()
    return channel


def _emergency_access(world: World, *kinds: str, ended: bool = False) -> EmergencyAccess:
    """An emergency access to a channel with each of ``kinds`` in custody: the actor's own when they may
    open one, otherwise someone on call's; ``ended``: someone on call's, its window over."""
    channel = world.channel()
    for kind in kinds:
        value = "JBSWY3DPEHPK3PXP" if kind == "totp_seed" else f"matrix secret {world.n()}"
        custody.store(channel, kind, value, "Taking custody of the account.", world.make_user("comms"))
    actor = world.actor
    if ended or actor is None or not actor.can(Permission.BREAK_GLASS_OPEN):
        actor = world.make_user("on-call")
    access = opened(actor, channel, kinds or ("password",))
    if ended:
        back = dt.timedelta(minutes=300)
        access.opened_at -= back
        access.ends_at -= back
        db.session().commit()
    return access


def _emergency_args(world: World, kind: str) -> Request:
    return Request({"reference": _emergency_access(world, kind).reference, "kind": kind})


def _just_revealed(world: World) -> Channel:
    """A channel whose password the person sending the request revealed a moment ago (copying needs that)."""
    channel = _in_custody(world)
    if world.actor is not None:
        [credential] = custody.credentials_of(channel)
        db.session().add(
            CredentialReveal(
                credential_id=credential.id,
                version=1,
                user_id=world.actor.id,
                action="reveal",
                reason="Posting an update.",
                occurred_at=db.utcnow(),
            )
        )
        db.session().commit()
    return channel


def _grant_args(world: World) -> dict[str, Any]:
    granted = world.grant()
    return {"reference": granted.channel.reference, "grant_id": granted.id}


def _item_args(world: World, *, decided: bool = False) -> dict[str, Any]:
    item = world.review_item(decided=decided)
    return {"reference": item.review.reference, "item_id": item.id}


def _health_check_form() -> dict[str, str]:
    today = clock.today()
    return {
        "two_factor": "app",
        "recovery_email": "nhs.net",
        "recovery_phone_trust": "yes",
        "password_matches": "yes",
        "seed": "yes",
        "seen_live": "yes",
        "last_post_on[day]": str(today.day),
        "last_post_on[month]": str(today.month),
        "last_post_on[year]": str(today.year),
        "roster_matches": "yes",
    }


def _grant_fields(world: World) -> dict[str, Any]:
    return {
        "email": f"agency{world.n()}@agency.example",
        "name": "Agency Person",
        "organisation": "Bright Agency Ltd",
        "platform_role": "editor",
    }


def _decide_request(world: World) -> Request:
    args = _item_args(world)
    return Request(args, data={f"item-{args['item_id']}-decision": "certified"})


def _review_form(world: World) -> dict[str, Any]:
    due = clock.today()
    return {
        "title": "Matrix review",
        "due_on[day]": str(due.day),
        "due_on[month]": str(due.month),
        "due_on[year]": str(due.year),
        "scope": "some",
        "channels": [str(world.grant().channel_id)],
    }


def _import_file(world: World) -> tuple[io.BytesIO, str]:
    """A staff list of one new person: previewing it changes nothing."""
    return io.BytesIO(f"email,name\nnew{world.n()}@example.nhs.uk,New Person\n".encode()), "staff.csv"


def _secrets_file(world: World) -> tuple[io.BytesIO, str]:
    """A password export whose one entry matches no channel: previewing it stores nothing."""
    return io.BytesIO(f"url,password\nhttps://example.org/n{world.n()},matrix import value\n".encode()), "export.csv"


def _inventory_file(world: World) -> tuple[io.BytesIO, str]:
    """An inventory of one account: previewing it changes nothing."""
    return io.BytesIO(f"url\nhttps://x.com/matrix_inventory_{world.n()}\n".encode()), "inventory.csv"


def _revoke_token(world: World) -> Request:
    user = world.other_user()
    return Request({"user_id": user.id, "token_id": world.token_of(user)})


def _png(size: tuple[int, int] = (24, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 94, 184)).save(buffer, "PNG")
    return buffer.getvalue()


def _consent_file() -> FileStorage:
    return FileStorage(stream=io.BytesIO(_png()), filename="matrix-draft.png", content_type="image/png")


def _consent_answers() -> consents.ConsentRequest:
    start = clock.today() + dt.timedelta(days=7)
    return consents.ConsentRequest(
        title="Matrix leaflet",
        department="Maternity",
        asset="nhs_lozenge",
        purpose="Antenatal classes.",
        media=("print",),
        audience="Parents",
        partner_involved=False,
        starts_on=start,
        ends_on=start + dt.timedelta(days=30),
    )


def _consent_form(_world: World) -> dict[str, Any]:
    start = clock.today() + dt.timedelta(days=7)
    return {
        "title": "Matrix leaflet",
        "department": "Maternity",
        "asset": "nhs_lozenge",
        "purpose": "Antenatal classes.",
        "media": ["print"],
        "audience": "Parents",
        "partner_involved": "no",
        "starts_on[day]": str(start.day),
        "starts_on[month]": str(start.month),
        "starts_on[year]": str(start.year),
        "ends_on[day]": str(start.day),
        "ends_on[month]": str(start.month),
        "ends_on[year]": str(start.year),
        "artwork": (io.BytesIO(_png()), "matrix-draft.png"),
    }


def _consent_json(_world: World) -> dict[str, Any]:
    start = clock.today() + dt.timedelta(days=7)
    return {
        "title": "Matrix API leaflet",
        "department": "Estates",
        "asset": "trust_logo",
        "purpose": "Car park signs.",
        "media": ["signage"],
        "audience": "Visitors",
        "partner_involved": False,
        "starts_on": start.isoformat(),
        "ends_on": start.isoformat(),
        "artwork": [{"filename": "matrix.png", "content_base64": base64.b64encode(_png()).decode()}],
    }


def _own_consent(world: World, status: str = "submitted") -> dict[str, Any]:
    return {"reference": world.consent(status, own=True).shown_reference}


def _own_artwork(world: World) -> dict[str, Any]:
    made = world.consent(own=True)
    [artwork] = consents.artwork_of(made)
    return {"reference": made.shown_reference, "upload_id": artwork.upload_id}


def _media_approach() -> media.Approach:
    return media.Approach(
        platform="x",
        outlet="Matrix Gazette",
        contacted_at=db.utcnow() - dt.timedelta(hours=1),
        enquiry="Asked about the matrix.",
        link="https://x.com/messages/1",
        not_responded=True,
    )


def _media_form(_world: World) -> dict[str, Any]:
    when = dt.datetime.now(clock.LONDON) - dt.timedelta(hours=1)
    return {
        "platform": "x",
        "outlet": "Matrix Gazette",
        "contacted_on[day]": str(when.day),
        "contacted_on[month]": str(when.month),
        "contacted_on[year]": str(when.year),
        "contacted_time": when.strftime("%H:%M"),
        "enquiry": "Asked about the matrix.",
        "link": "https://x.com/messages/2",
        "not_responded": "y",
    }


def _media_json(_world: World) -> dict[str, Any]:
    return {
        "platform": "facebook",
        "contacted_at": (db.utcnow() - dt.timedelta(hours=1)).isoformat(),
        "enquiry": "Asked about the API.",
        "link": "https://www.facebook.com/messages/t/3",
        "not_responded": True,
    }


def _own_media(world: World, status: str = "reported") -> dict[str, Any]:
    return {"reference": world.media_contact(status, own=True).reference}


def _own_media_screenshot(world: World) -> dict[str, Any]:
    made = world.media_contact(own=True)
    [shot] = media.evidence_of(made)
    return {"reference": made.reference, "upload_id": shot.upload_id}


def _checklist_item(world: World) -> Request:
    item = world.checklist_item()
    return Request({"item_id": item.id}, data={f"item-{item.id}-text": "Reworded by the matrix."})


def _post_form(world: World) -> dict[str, Any]:
    when = clock.today() + dt.timedelta(days=1)
    return {
        "text": f"Matrix post {world.n()}",
        "channels": [world.shown_channel().reference],
        "wished_for[day]": str(when.day),
        "wished_for[month]": str(when.month),
        "wished_for[year]": str(when.year),
        "reason": "Matrix.",
        "consent_confirmed": "y",
    }


def _post_json(world: World) -> dict[str, Any]:
    return {
        "text": f"Matrix API post {world.n()}",
        "channels": [world.shown_channel().reference],
        "wished_for": (clock.today() + dt.timedelta(days=1)).isoformat(),
        "reason": "Matrix.",
        "consent_confirmed": True,
    }


def _post_args(post: PromotionalPost, **extra: Any) -> dict[str, Any]:
    return {"reference": post.reference, **extra}


def _webhook_form(world: World) -> dict[str, Any]:
    return {
        "name": f"Teams {world.n()}",
        "url": "https://example.org/workflows/alerts",
        "events": ["media_approach", "audit_verification_failed"],
        "format": "teams",
    }


def _breach_form(world: World) -> dict[str, Any]:
    return {
        "account": f"@matrix_{world.n()} on X",
        "link": "https://x.com/matrix/status/1",
        "description": "Matrix breach.",
        "clauses": ["6.13"],
        "reputational_risk": "no",
        "subject_kind": "unknown",
    }


def _own_breach(world: World) -> dict[str, Any]:
    return {"reference": world.breach(own=True).reference}


def _own_evidence(world: World) -> dict[str, Any]:
    made = world.breach(own=True, evidence=True)
    [evidence] = breaches.evidence_of(made)
    return {"reference": made.reference, "upload_id": evidence.upload_id}


#: Written from SPEC.md's role table, not from ROLE_PERMISSIONS: (endpoint, method) → who may.
EXPECTATIONS: dict[tuple[str, str], Expect] = {
    ("static", "GET"): Expect(EVERYONE, build=lambda w: Request({"filename": "js/app.js"})),
    ("web.home", "GET"): Expect(SIGNED_IN),
    ("web.policy", "GET"): Expect(EVERYONE),
    ("web.accessibility", "GET"): Expect(EVERYONE),
    ("health.healthz", "GET"): Expect(EVERYONE),
    ("health.readyz", "GET"): Expect(EVERYONE),
    ("web.channel_chart", "GET"): Expect(READERS, build=lambda w: Request({"dimension": "platform"})),
    ("verification.verify_page", "GET"): Expect(EVERYONE, build=lambda w: Request({"url": "https://x.com/someone"})),
    ("directory.directory_page", "GET"): Expect(EVERYONE),
    ("auth.login", "GET"): Expect(EVERYONE, signed_in_status=302),
    ("auth.login", "POST"): Expect(
        EVERYONE, build=lambda w: Request(data={"email": "nobody@example.nhs.uk", "password": "not the password"})
    ),
    ("auth.logout", "POST"): Expect(EVERYONE, status=302, fresh_client=True, ends_at_login=True),
    # Sign-in with an identity provider: none is configured here, so these routes are not found (with one, see
    # tests/test_oidc.py); the step-up still needs someone signed in first.
    ("auth.provider_start", "GET"): Expect(EVERYONE, status=404),
    ("auth.provider_callback", "GET"): Expect(EVERYONE, status=404),
    ("auth.provider_backchannel_logout", "POST"): Expect(EVERYONE, status=404),
    ("auth.provider_step_up", "GET"): Expect(SIGNED_IN, status=404),
    ("auth.account", "GET"): Expect(SIGNED_IN),
    ("auth.change_password", "GET"): Expect(SIGNED_IN),
    ("auth.change_password", "POST"): Expect(
        SIGNED_IN,
        status=302,
        build=lambda w: Request(data={"current_password": w.password, "new_password": NEW_PASSWORD}),
    ),
    ("auth.users", "GET"): Expect(ADMIN),
    ("auth.user", "GET"): Expect(ADMIN, build=lambda w: Request({"user_id": w.other_user().id})),
    ("auth.create_user", "GET"): Expect(ADMIN),
    ("auth.create_user", "POST"): Expect(ADMIN, status=302, build=lambda w: Request(data=_new_user_form(w))),
    ("auth.set_roles", "POST"): Expect(
        ADMIN,
        status=302,
        build=lambda w: Request(
            {"user_id": w.other_user().id},
            data={"roles": ["staff", "auditor"], "reason": "Internal audit's new analyst."},
        ),
    ),
    ("auth.send_setup_link", "POST"): Expect(
        ADMIN, status=302, build=lambda w: Request({"user_id": w.user_without_password().id})
    ),
    ("auth.import_users", "GET"): Expect(ADMIN),
    ("auth.import_users", "POST"): Expect(ADMIN, build=lambda w: Request(data={"file": _import_file(w)})),
    ("auth.confirm_import", "POST"): Expect(ADMIN, status=400, build=lambda w: Request(data={"csv": "", "token": ""})),
    ("auth.approvals_index", "GET"): Expect(ADMIN),
    ("auth.approval", "GET"): Expect(ADMIN, build=lambda w: Request({"request_id": w.account_request().id})),
    ("auth.approve", "POST"): Expect(
        ADMIN, status=302, build=lambda w: Request({"request_id": w.account_request().id})
    ),
    ("auth.reject", "POST"): Expect(
        ADMIN,
        status=302,
        build=lambda w: Request({"request_id": w.account_request().id}, data={"note": "They moved to another team."}),
    ),
    ("auth.cancel", "POST"): Expect(
        ADMIN, status=302, build=lambda w: Request({"request_id": w.account_request(own=True).id})
    ),
    ("auth.setup_link", "GET"): Expect(
        EVERYONE, status=302, fresh_client=True, build=lambda w: Request({"token": w.setup_token()})
    ),
    ("auth.setup", "GET"): Expect(EVERYONE, status=404),
    ("auth.setup", "POST"): Expect(EVERYONE, status=404, build=lambda w: Request(data={"password": "anything at all"})),
    ("auth.deactivate", "POST"): Expect(ADMIN, status=302, build=lambda w: Request({"user_id": w.other_user().id})),
    ("auth.reactivate", "POST"): Expect(
        ADMIN, status=302, build=lambda w: Request({"user_id": w.deactivated_user().id})
    ),
    ("auth.reset_password", "POST"): Expect(ADMIN, status=302, build=lambda w: Request({"user_id": w.other_user().id})),
    ("auth.revoke_token", "POST"): Expect(ADMIN, status=302, build=_revoke_token),
    ("auth.login_second_factor", "GET"): Expect(EVERYONE, status=302, ends_at_login=True),
    ("auth.login_second_factor", "POST"): Expect(
        EVERYONE, status=302, ends_at_login=True, build=lambda w: Request(data={"code": "abcdef"})
    ),
    ("auth.two_factor", "GET"): Expect(SIGNED_IN),
    ("auth.two_factor", "POST"): Expect(
        SIGNED_IN, status=422, two_factor_status=302, build=lambda w: Request(data={"code": "abcdef"})
    ),
    ("auth.new_recovery_codes", "POST"): Expect(SIGNED_IN, status=409, two_factor_status=200),
    ("auth.step_up", "GET"): Expect(SIGNED_IN, status=302, two_factor_status=200),
    ("auth.step_up", "POST"): Expect(
        SIGNED_IN, status=302, two_factor_status=422, build=lambda w: Request(data={"code": "abcdef"})
    ),
    ("auth.reset_two_factor", "POST"): Expect(
        ADMIN,
        status=302,
        build=lambda w: Request({"user_id": w.make_user("comms").id}, data={"reason": "Lost phone, identity checked."}),
    ),
    ("auth.set_line_manager", "POST"): Expect(
        ADMIN,
        status=302,
        build=lambda w: Request(
            {"user_id": w.other_user().id}, data={"manager-line_manager": str(w.make_user("manager").id)}
        ),
    ),
    ("channels.new", "GET"): Expect(SIGNED_IN),
    ("channels.new", "POST"): Expect(SIGNED_IN, status=302, build=lambda w: Request(data=_channel_form(w))),
    ("channels.mine", "GET"): Expect(SIGNED_IN),
    ("channels.queue", "GET"): Expect(COMMS),
    ("channels.import_inventory", "GET"): Expect(COMMS),
    ("channels.import_inventory", "POST"): Expect(
        COMMS, status=422, build=lambda w: Request(data={"file": _inventory_file(w)})
    ),
    ("channels.confirm_import", "POST"): Expect(
        COMMS, status=400, build=lambda w: Request(data={"file": "", "token": ""})
    ),
    ("channels.inventory", "GET"): Expect(READERS),
    ("channels.export", "GET"): Expect(READERS),
    ("channels.detail", "GET"): Expect(SIGNED_IN, build=lambda w: Request({"reference": w.shown_channel().reference})),
    ("channels.act", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(
            {"reference": w.channel().reference, "action": "suspend"}, data={"suspend-reason": "Posting has stopped."}
        ),
    ),
    ("channels.edit", "GET"): Expect(COMMS, build=lambda w: Request({"reference": w.shown_channel().reference})),
    ("channels.edit", "POST"): Expect(
        COMMS, status=302, build=lambda w: Request({"reference": w.channel().reference}, data=_edit_form(w))
    ),
    ("monitoring.index", "GET"): Expect(READERS),
    ("monitoring.detail", "GET"): Expect(READERS, build=lambda w: Request({"reference": w.shown_finding().reference})),
    ("monitoring.new", "GET"): Expect(COMMS),
    ("monitoring.new", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(data={"url": f"https://x.com/impostor_{w.n()}", "evidence": "Uses the lozenge."}),
    ),
    ("monitoring.act", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(
            {"reference": w.finding().reference, "action": "dismiss"}, data={"dismiss-note": "A fan page."}
        ),
    ),
    ("monitoring.adopt", "GET"): Expect(COMMS, build=lambda w: Request({"reference": w.shown_finding().reference})),
    ("monitoring.adopt", "POST"): Expect(
        COMMS, status=302, build=lambda w: Request({"reference": w.finding().reference}, data=_adopt_form(w))
    ),
    ("vault.overview", "GET"): Expect(READERS),
    ("vault.channel_credentials", "GET"): Expect(
        READERS, build=lambda w: Request({"reference": w.shown_channel().reference})
    ),
    ("vault.store", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(
            {"reference": w.channel().reference},
            data={"kind": "password", "value": "matrix stored secret", "reason": "Taking custody."},
        ),
    ),
    ("vault.generate", "POST"): Expect(
        COMMS,
        build=lambda w: Request(
            {"reference": w.shown_channel().reference},
            data={"length": "20", "lower": "y", "upper": "y", "digits": "y", "symbols": "y"},
        ),
    ),
    # Auditors pass the route's policy but are refused by the custody rules (403, audited as
    # refused); comms signed in with their second factor moments ago, so their step-up is fresh.
    ("vault.reveal", "POST"): Expect(
        READERS,
        status=403,
        two_factor_status=200,
        role_status={"auditor": 403},  # refused, and audited as refused
        build=lambda w: Request(
            {"reference": _in_custody(w).reference, "kind": "password"},
            data={"password-reason": "Posting the clinic update."},
        ),
    ),
    ("vault.code", "POST"): Expect(
        READERS,
        status=403,
        two_factor_status=200,
        role_status={"auditor": 403},  # refused, and audited as refused
        build=lambda w: Request(
            {"reference": _in_custody(w, "totp_seed").reference, "kind": "totp_seed"},
            data={"reason": "Signing in to post."},
        ),
    ),
    ("vault.copied", "POST"): Expect(
        COMMS,
        status=204,
        build=lambda w: Request({"reference": _just_revealed(w).reference, "kind": "password"}, data={"version": "1"}),
    ),
    # Importing secrets needs comms with a fresh second factor (they signed in with it moments ago).
    ("vault.import_credentials", "GET"): Expect(COMMS),
    ("vault.import_credentials", "POST"): Expect(
        COMMS, build=lambda w: Request(data={"file": _secrets_file(w), "format": "csv"})
    ),
    ("vault.confirm_import_credentials", "POST"): Expect(
        COMMS, status=400, build=lambda w: Request(data={"confirm-token": "", "confirm-format": "csv"})
    ),
    ("audit.index", "GET"): Expect(AUDIT_READERS),
    ("audit.export", "GET"): Expect(AUDIT_READERS),
    ("audit.verify", "POST"): Expect(AUDIT_READERS),
    ("api.openapi", "GET"): Expect(EVERYONE),
    ("api.verify", "GET"): Expect(EVERYONE, build=lambda w: Request({"platform": "x", "handle": "someone"})),
    ("api.list_directory", "GET"): Expect(EVERYONE),
    ("api.list_channels", "GET"): Expect(SIGNED_IN),
    ("api.create_channel", "POST"): Expect(SIGNED_IN, status=201, build=lambda w: Request(json=_channel_json(w))),
    ("api.get_channel", "GET"): Expect(SIGNED_IN, build=lambda w: Request({"reference": w.shown_channel().reference})),
    ("api.transition_channel", "POST"): Expect(
        COMMS,
        build=lambda w: Request(
            {"reference": w.channel().reference}, json={"action": "suspend", "reason": "Posting has stopped."}
        ),
    ),
    ("api.audit_events", "GET"): Expect(AUDIT_READERS),
    ("api.list_credentials", "GET"): Expect(READERS, build=lambda w: Request({"reference": _in_custody(w).reference})),
    ("api.store_credential", "POST"): Expect(
        COMMS,
        status=201,
        build=lambda w: Request(
            {"reference": w.channel().reference},
            json={"kind": "recovery_email", "value": "social@example.nhs.uk", "reason": "Taking custody."},
        ),
    ),
    ("account_health.channel", "GET"): Expect(
        READERS, build=lambda w: Request({"reference": w.shown_channel().reference})
    ),
    ("account_health.check", "GET"): Expect(COMMS, build=lambda w: Request({"reference": w.shown_channel().reference})),
    ("account_health.check", "POST"): Expect(
        COMMS, status=302, build=lambda w: Request({"reference": w.channel().reference}, data=_health_check_form())
    ),
    ("roster.index", "GET"): Expect(READERS),
    ("roster.export", "GET"): Expect(READERS),
    ("roster.leavers", "GET"): Expect(READERS),
    ("roster.channel_roster", "GET"): Expect(
        READERS, build=lambda w: Request({"reference": w.shown_channel().reference})
    ),
    ("roster.add_grant", "POST"): Expect(
        COMMS, status=302, build=lambda w: Request({"reference": w.channel().reference}, data=_grant_fields(w))
    ),
    ("roster.revoke", "GET"): Expect(COMMS, build=lambda w: Request(_grant_args(w))),
    ("roster.revoke", "POST"): Expect(
        COMMS, status=302, build=lambda w: Request(_grant_args(w), data={"reason": "The contract ended."})
    ),
    ("roster.reviews", "GET"): Expect(READERS),
    ("roster.new_review", "GET"): Expect(COMMS),
    ("roster.new_review", "POST"): Expect(COMMS, status=302, build=lambda w: Request(data=_review_form(w))),
    ("roster.review", "GET"): Expect(READERS, build=lambda w: Request({"reference": w.review_item().review.reference})),
    ("roster.export_review", "GET"): Expect(
        READERS, build=lambda w: Request({"reference": w.review_item().review.reference})
    ),
    ("roster.decide", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: _decide_request(w),
    ),
    ("roster.finish_review", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request({"reference": _item_args(w, decided=True)["reference"]}),
    ),
    ("screening.screen", "GET"): Expect(SIGNED_IN),
    ("screening.screen", "POST"): Expect(
        SIGNED_IN, build=lambda w: Request(data={"text": "Mr John Smith, NHS number 943 476 5919, DOB 01/02/1985"})
    ),
    ("api.screen", "POST"): Expect(SIGNED_IN, build=lambda w: Request(json={"text": "NHS number 943 476 5919"})),
    ("web.work_queue", "GET"): Expect(COMMS),
    # Break-glass: on call (and comms) open and use their own access, with the fresh second factor they
    # signed in with; comms and auditors read every one; comms review one someone else used.
    ("breakglass.start", "GET"): Expect(ON_CALL),
    ("breakglass.open_access", "POST"): Expect(
        ON_CALL,
        status=302,
        build=lambda w: Request(
            data={
                "channel": w.channel().reference,
                "incident_reference": f"INC-{w.n()}",
                "reason": "The account was hijacked.",
                "kinds": ["password"],
            }
        ),
    ),
    ("breakglass.index", "GET"): Expect(READERS),
    ("breakglass.access", "GET"): Expect(
        EMERGENCY_READERS, build=lambda w: Request({"reference": _emergency_access(w).reference})
    ),
    ("breakglass.reveal", "POST"): Expect(ON_CALL, build=lambda w: _emergency_args(w, "password")),
    ("breakglass.code", "POST"): Expect(ON_CALL, build=lambda w: _emergency_args(w, "totp_seed")),
    ("breakglass.close", "POST"): Expect(
        ON_CALL, status=302, build=lambda w: Request({"reference": _emergency_access(w).reference})
    ),
    ("breakglass.review", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(
            {"reference": _emergency_access(w, ended=True).reference}, data={"note": "Needed; password rotated."}
        ),
    ),
    ("web.my_requests", "GET"): Expect(SIGNED_IN),
    ("notifications.messages", "GET"): Expect(SIGNED_IN),
    ("notifications.message", "GET"): Expect(
        SIGNED_IN, signed_in_status=404, build=lambda w: Request({"message_id": w.message_id()})
    ),
    ("notifications.outbox", "GET"): Expect(ADMIN),
    # Outgoing webhooks: administrators set them up; auditors read the list and the deliveries.
    ("alerts.index", "GET"): Expect(WEBHOOK_READERS),
    ("alerts.deliveries", "GET"): Expect(WEBHOOK_READERS),
    ("alerts.new", "GET"): Expect(ADMIN),
    ("alerts.new", "POST"): Expect(ADMIN, build=lambda w: Request(data=_webhook_form(w))),
    ("alerts.edit", "GET"): Expect(ADMIN, build=lambda w: Request(w.webhook())),
    ("alerts.edit", "POST"): Expect(ADMIN, status=302, build=lambda w: Request(w.webhook(), data=_webhook_form(w))),
    ("alerts.pause", "POST"): Expect(ADMIN, status=302, build=lambda w: Request(w.webhook())),
    ("alerts.resume", "POST"): Expect(ADMIN, status=302, build=lambda w: Request(w.webhook(paused=True))),
    ("alerts.delete", "POST"): Expect(ADMIN, status=302, build=lambda w: Request(w.webhook())),
    ("alerts.roll_secret", "POST"): Expect(ADMIN, build=lambda w: Request(w.webhook())),
    # Logo and lozenge consent. Object rules: a request is seen only by its requester, comms and
    # auditors (anyone else gets 404, tested in tests/test_consent.py), so requests that only
    # the requester may make are built from the actor's own consent.
    ("consent.register", "GET"): Expect(SIGNED_IN),
    ("consent.export", "GET"): Expect(READERS),
    ("consent.new", "GET"): Expect(SIGNED_IN),
    ("consent.new", "POST"): Expect(SIGNED_IN, status=302, build=lambda w: Request(data=_consent_form(w))),
    ("consent.detail", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_consent(w))),
    ("consent.decide", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(
            {"reference": w.consent().request_reference}, data={"decision": "reject", "note": "Not for this use."}
        ),
    ),
    ("consent.withdraw", "POST"): Expect(
        SIGNED_IN, status=302, build=lambda w: Request(_own_consent(w), data={"withdraw-note": "Not needed."})
    ),
    ("consent.edit", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_consent(w, "changes_requested"))),
    ("consent.edit", "POST"): Expect(
        SIGNED_IN,
        status=302,
        build=lambda w: Request(_own_consent(w, "changes_requested"), data=_consent_form(w)),
    ),
    ("consent.artwork", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_artwork(w))),
    ("consent.letter", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_consent(w, "approved"))),
    ("consent.letter_pdf", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_consent(w, "approved"))),
    ("consent.checklist", "GET"): Expect(COMMS),
    ("consent.add_checklist_item", "POST"): Expect(
        COMMS, status=302, build=lambda w: Request(data={"text": f"Matrix item {w.n()}"})
    ),
    ("consent.reword_checklist_item", "POST"): Expect(COMMS, status=302, build=_checklist_item),
    ("consent.retire_checklist_item", "POST"): Expect(
        COMMS, status=302, build=lambda w: Request({"item_id": w.checklist_item().id})
    ),
    ("api.list_consents", "GET"): Expect(SIGNED_IN),
    ("api.create_consent", "POST"): Expect(SIGNED_IN, status=201, build=lambda w: Request(json=_consent_json(w))),
    ("api.get_consent", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_consent(w))),
    ("api.transition_consent", "POST"): Expect(
        COMMS,
        build=lambda w: Request(
            {"reference": w.consent().request_reference}, json={"action": "reject", "note": "Not for this use."}
        ),
    ),
    ("api.resubmit_consent", "POST"): Expect(
        SIGNED_IN, build=lambda w: Request(_own_consent(w, "changes_requested"), json={"note": "Changed."})
    ),
    ("api.consent_artwork", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_artwork(w))),
    ("api.consent_checklist", "GET"): Expect(SIGNED_IN),
    # Promotional posts. Staff see only their own posts (anyone else's is a 404, so existence
    # does not leak); comms get someone else's post, since the four-eyes rule answers 409 for
    # their own. What comms do (decide, schedule, publish, accept findings) is on routes declaring
    # POST_DECIDE, each form naming the post's version (1: the post is new); only the requester's
    # withdrawal is POST_REQUEST.
    ("posts.index", "GET"): Expect(SIGNED_IN),
    ("posts.new", "GET"): Expect(SIGNED_IN),
    ("posts.new", "POST"): Expect(SIGNED_IN, status=302, build=lambda w: Request(data=_post_form(w))),
    ("posts.detail", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_post_args(w.own_post(findings=True)))),
    ("posts.image", "GET"): Expect(
        SIGNED_IN,
        build=lambda w: Request(_post_args(p := w.own_post(image=True), image_id=p.images[0].id)),
    ),
    ("posts.edit", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_post_args(w.own_post()))),
    ("posts.edit", "POST"): Expect(
        SIGNED_IN,
        status=302,
        build=lambda w: Request(_post_args(w.own_post()), data=_post_form(w)),
    ),
    ("posts.decide", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(
            _post_args(w.post_to_decide(), action="reject"),
            data={"reject-reason": "Not for us.", "reject-version": "1"},
        ),
    ),
    ("posts.withdraw", "POST"): Expect(
        SIGNED_IN,
        status=302,
        build=lambda w: Request(_post_args(w.own_post()), data={"withdraw-reason": "Not needed."}),
    ),
    ("posts.accept_findings", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(
            _post_args(w.post_to_decide(findings=True)),
            data={"findings-acceptance": "The training example.", "findings-version": "1"},
        ),
    ),
    ("api.list_posts", "GET"): Expect(SIGNED_IN),
    ("api.create_post", "POST"): Expect(SIGNED_IN, status=201, build=lambda w: Request(json=_post_json(w))),
    ("api.get_post", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_post_args(w.own_post()))),
    ("api.revise_post", "POST"): Expect(
        SIGNED_IN,
        build=lambda w: Request(_post_args(w.own_post()), json={"text": "Matrix revision.", "consent_confirmed": True}),
    ),
    ("api.transition_post", "POST"): Expect(
        COMMS,
        build=lambda w: Request(
            _post_args(w.post_to_decide()), json={"action": "reject", "reason": "No.", "version": 1}
        ),
    ),
    ("api.list_grants", "GET"): Expect(READERS, build=lambda w: Request({"reference": w.shown_channel().reference})),
    ("api.create_grant", "POST"): Expect(
        COMMS, status=201, build=lambda w: Request({"reference": w.channel().reference}, json=_grant_fields(w))
    ),
    ("api.revoke_grant", "POST"): Expect(
        COMMS, build=lambda w: Request(_grant_args(w), json={"reason": "The contract ended."})
    ),
    # Media contacts (policy 8.1). An approach is seen only by its reporter, comms and auditors
    # (anyone else gets 404: tests/test_media_contacts.py), so reads are built from the actor's own;
    # comms triage someone else's (their own would be refused by the four-eyes rule, 409).
    ("media.index", "GET"): Expect(SIGNED_IN),
    ("media.new", "GET"): Expect(SIGNED_IN),
    ("media.new", "POST"): Expect(SIGNED_IN, status=302, build=lambda w: Request(data=_media_form(w))),
    ("media.detail", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_media(w))),
    ("media.screenshot", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_media_screenshot(w))),
    ("media.triage", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request({"reference": w.media_contact().reference}, data={"action": "acknowledge"}),
    ),
    ("api.list_media_contacts", "GET"): Expect(SIGNED_IN),
    ("api.create_media_contact", "POST"): Expect(SIGNED_IN, status=201, build=lambda w: Request(json=_media_json(w))),
    ("api.get_media_contact", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_media(w))),
    ("api.media_contact_screenshot", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_media_screenshot(w))),
    ("api.transition_media_contact", "POST"): Expect(
        COMMS,
        build=lambda w: Request({"reference": w.media_contact().reference}, json={"action": "acknowledge"}),
    ),
    # Breach reports (policy 9). A case is seen only by those involved (anyone else gets 404,
    # tested in tests/test_breaches.py), so pages are built from the actor's own report; each
    # action from a case the actor may take it on: comms route one waiting to be routed, the
    # line manager it is assigned to resolves or flags it, HR record the outcome of an escalated one.
    ("breaches.index", "GET"): Expect(SIGNED_IN),
    ("breaches.waiting", "GET"): Expect(SIGNED_IN),
    ("breaches.new", "GET"): Expect(SIGNED_IN),
    ("breaches.new", "POST"): Expect(SIGNED_IN, status=302, build=lambda w: Request(data=_breach_form(w))),
    ("breaches.detail", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_breach(w))),
    ("breaches.evidence", "GET"): Expect(SIGNED_IN, build=lambda w: Request(_own_evidence(w))),
    ("breaches.route", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request(
            {"reference": w.breach("to_route").reference},
            data={"routing-decision": "route", "routing-manager": str(w.make_user("manager").id)},
        ),
    ),
    ("breaches.decide", "POST"): Expect(
        MANAGERS,
        status=302,
        build=lambda w: Request(
            {"reference": w.breach().reference},
            data={"decision-decision": "resolve", "decision-note": "Talked it through."},
        ),
    ),
    ("breaches.flag", "POST"): Expect(
        MANAGERS,
        status=302,
        build=lambda w: Request({"reference": w.breach().reference}, data={"flag-note": "Shared."}),
    ),
    ("breaches.outcome", "POST"): Expect(
        HR,
        status=302,
        build=lambda w: Request({"reference": w.breach("with_hr").reference}, data={"outcome-note": "Advice given."}),
    ),
    # Monthly reports (policy 11.2): comms generate and issue; comms and auditors read. Each request
    # gets a report of a month of its own (generating a month already issued would be a 409).
    ("reports.index", "GET"): Expect(READERS),
    ("reports.generate", "POST"): Expect(COMMS, status=302, build=lambda w: Request(data={"month": "2023-01"})),
    ("reports.detail", "GET"): Expect(READERS, build=lambda w: Request({"month": w.report().month})),
    ("reports.issue", "POST"): Expect(
        COMMS,
        status=302,
        build=lambda w: Request({"month": (r := w.report()).month}, data={"sha256": r.sha256}),
    ),
    ("reports.chart", "GET"): Expect(
        READERS,
        build=lambda w: Request({"month": w.report().month, "chart": "platforms"}),
    ),
    ("reports.export_csv", "GET"): Expect(READERS, build=lambda w: Request({"month": w.report(issued=True).month})),
    ("reports.export_pdf", "GET"): Expect(READERS, build=lambda w: Request({"month": w.report(issued=True).month})),
}

#: The other actions of each kind's transitions route (one route per kind takes every action, so the
#: table above holds one of them): each is checked against every role like a route of its own. An
#: action needing a role the caller lacks is refused with 403 before the request is looked up.
MORE_ACTIONS: list[tuple[tuple[str, str], Expect]] = [
    (
        ("api.transition_consent", "POST"),
        Expect(SIGNED_IN, build=lambda w: Request(_own_consent(w), json={"action": "withdraw"})),
    ),
    (
        ("api.transition_post", "POST"),
        Expect(
            COMMS,
            build=lambda w: Request(
                _post_args(w.post_to_decide(findings=True)),
                json={"action": "accept_findings", "reason": "Training example.", "version": 1},
            ),
        ),
    ),
    (
        ("api.transition_post", "POST"),
        Expect(
            COMMS,
            build=lambda w: Request(
                _post_args(w.post_to_decide(approved=True)),
                json={"action": "schedule", "scheduled_for": (db.utcnow() + dt.timedelta(days=2)).isoformat()},
            ),
        ),
    ),
    (
        ("api.transition_post", "POST"),
        Expect(
            COMMS,
            build=lambda w: Request(
                _post_args(w.post_to_decide(approved=True)),
                json={
                    "action": "publish",
                    "urls": {w.shown_channel().reference: f"https://x.com/{w.shown_channel().handle}/status/{w.n()}"},
                },
            ),
        ),
    ),
    (
        ("api.transition_post", "POST"),
        Expect(SIGNED_IN, build=lambda w: Request(_post_args(w.own_post()), json={"action": "withdraw"})),
    ),
]


def _routes(app: Flask) -> set[tuple[str, str]]:
    """Every route a person's roles decide. A machine client's routes (``BearerClient``: SCIM) belong to no
    role: tests/test_scim.py checks that every one refuses anything but that client's own token."""
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if not isinstance(policy_of(app.view_functions.get(rule.endpoint)), BearerClient)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_route_declares_who_may_use_it(app: Flask) -> None:
    """A route without ``@requires`` or ``@public`` would be refused to everyone; none exists."""
    undeclared = sorted(
        f"{rule.rule} ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        if policy_of(app.view_functions.get(rule.endpoint)) is None
    )
    assert undeclared == [], f"routes without a declared policy: {undeclared}"


def test_every_route_is_in_the_expectations_table(app: Flask) -> None:
    """A new route must be added to the table above, saying who may use it."""
    routes = _routes(app)
    assert sorted(routes - EXPECTATIONS.keys()) == [], "routes missing from EXPECTATIONS"
    assert sorted(EXPECTATIONS.keys() - routes) == [], "EXPECTATIONS names routes that no longer exist"


def _text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def _allowed(expect: Expect, role: str) -> bool:
    if role == STAFF_AND_COMMS:
        return bool({"staff", "comms"} & expect.allowed)
    return role in expect.allowed


def _audit_count() -> int:
    return db.session().execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def _send(
    client: FlaskClient,
    token: str,
    api: FlaskClient,
    path: str,
    method: str,
    request: Request,
    headers: dict[str, str],
) -> TestResponse:
    if path.startswith("/api/"):
        return api.open(path, method=method, json=request.json, headers=headers)
    if method == "GET":
        return client.get(path)
    return client.post(path, data={**(request.data or {}), "csrf_token": token})


def _verdict(response: TestResponse, role: str, expect: Expect, api: bool, bug: str | None = None) -> str | None:
    """What is wrong with ``response``, or None when it is what the table says."""
    status = response.status_code
    location = urlsplit(response.headers.get("Location", "")).path
    if _allowed(expect, role):
        if bug is not None:
            return None if status == 500 else f"allowed and no longer a 500: remove it from KNOWN_BUGS ({bug})"
        wanted = expect.status_for(role)
        if status != wanted:
            return f"allowed, expected {wanted}, got {status}"
        if status in (301, 302, 303) and location == "/login" and not expect.ends_at_login:
            return "allowed, but redirected to sign in"
        return None
    if role != ANONYMOUS:
        return None if status == 403 else f"denied, expected 403, got {status} {location}"
    if api:
        if status != 401 or response.mimetype != "application/problem+json":
            return f"anonymous API call, expected 401 problem+json, got {status} {response.mimetype}"
        return None
    if status != 302 or location != "/login":
        return f"anonymous, expected a redirect to /login, got {status} {location}"
    return None


@pytest.mark.parametrize("role", [ANONYMOUS, *ROLES, STAFF_AND_COMMS])
def test_every_route_against_every_role(
    role: str,
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Each route, with each of its methods, gives ``role`` exactly what the table says.

    Allowed: the table's status (never 401/403 or a detour to sign in). Denied and
    signed in: 403. Denied and anonymous: a redirect to /login for pages, 401
    problem+json for the API. A refused request records no audit event.
    """
    actor = None if role == ANONYMOUS else make_user(*role.split("+"))
    world = World(make_user, make_channel, actor)
    browser = app.test_client()
    api = app.test_client()
    headers: dict[str, str] = {}
    if actor is not None:
        sign_in(browser, actor)
        headers = api_token(actor)
    token = csrf_token(browser)
    adapter = app.url_map.bind("localhost")
    problems = []
    for (endpoint, method), expect in [*EXPECTATIONS.items(), *MORE_ACTIONS]:
        request = expect.build(world)
        path = adapter.build(endpoint, request.args, method=method)
        client, client_token = browser, token
        if expect.fresh_client:
            client = app.test_client()
            if actor is not None:
                sign_in(client, actor, world.password)
            client_token = csrf_token(client)
        before = _audit_count()
        response = _send(client, client_token, api, path, method, request, headers)
        if endpoint == "auth.change_password" and method == "POST" and response.status_code == 302:
            world.password = NEW_PASSWORD
        problem = _verdict(response, role, expect, path.startswith("/api/"), KNOWN_BUGS.get((endpoint, method)))
        if problem is None and not _allowed(expect, role) and _audit_count() != before:
            problem = "denied, but an audit event was recorded"
        if problem:
            problems.append(f"{method} {path} ({endpoint}): {problem}")
    assert problems == [], f"{role}:\n" + "\n".join(problems)


def test_staff_see_their_own_requests_and_official_channels_only(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Staff may open their own request and the Trust's official channels, not others' requests."""
    staff = browser_as("staff")
    user: User = staff.user  # type: ignore[attr-defined]
    headers = api_token(user)
    api_client = app.test_client()
    own = make_channel("requested", requester=user)
    visible = [own, make_channel("active"), make_channel("suspended")]
    hidden = [
        make_channel("requested"),
        make_channel("approved"),
        make_channel("info_requested"),
        make_channel("rejected"),
        make_channel("retired"),
    ]
    for channel in visible:
        assert staff.get(f"/channels/{channel.reference}").status_code == 200, channel.status
        assert api_client.get(f"/api/v1/channels/{channel.reference}", headers=headers).status_code == 200
    for channel in hidden:
        page = staff.get(f"/channels/{channel.reference}")
        assert page.status_code == 403, channel.status
        assert "You can see your own requests and the Trust's official channels only." in _text(page)
        api = api_client.get(f"/api/v1/channels/{channel.reference}", headers=headers)
        assert api.status_code == 403
        assert api.mimetype == "application/problem+json"
    listed = api_client.get("/api/v1/channels?per_page=100", headers=headers).get_json()
    assert {item["reference"] for item in listed["items"]} == {c.reference for c in visible}


def test_only_the_requester_may_withdraw(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """Another member of staff and the communications team are refused; the requester withdraws."""
    requester = browser_as("staff")
    channel = make_channel("approved", requester=requester.user)  # type: ignore[attr-defined]
    path = f"/channels/{channel.reference}/actions/withdraw"
    assert browser_as("staff").post(path, {"withdraw-reason": "Not needed."}).status_code == 403
    for roles in (("comms",), ("comms", "admin")):
        refused = browser_as(*roles).post(path, {"withdraw-reason": "Not needed."})
        assert refused.status_code == 403, roles
        assert "Only the person who made the request can withdraw it." in _text(refused)
    db.session().refresh(channel)
    assert channel.status == "approved"
    assert requester.post(path, {"withdraw-reason": "Not needed."}).status_code == 302
    db.session().refresh(channel)
    assert channel.status == "withdrawn"


@pytest.mark.parametrize("action", ["approve", "reject", "request_info"])
def test_four_eyes_comms_cannot_decide_their_own_request(
    action: str,
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """A comms member who made a request gets 409 naming the four-eyes rule, in the browser and the API;
    the request is unchanged and a colleague can decide it."""
    comms = browser_as("comms")
    user: User = comms.user  # type: ignore[attr-defined]
    channel = make_channel("requested", requester=user)
    page = comms.post(f"/channels/{channel.reference}/actions/{action}", {f"{action}-reason": "Looks fine."})
    assert page.status_code == 409
    assert "four-eyes rule" in _text(page)
    api = app.test_client().post(
        f"/api/v1/channels/{channel.reference}/transitions",
        json={"action": action, "reason": "Looks fine."},
        headers=api_token(user),
    )
    assert api.status_code == 409
    assert api.mimetype == "application/problem+json"
    assert "four-eyes rule" in api.get_json()["detail"]
    db.session().refresh(channel)
    assert channel.status == "requested"
    colleague = browser_as("comms")
    decided = colleague.post(f"/channels/{channel.reference}/actions/{action}", {f"{action}-reason": "Looks fine."})
    assert decided.status_code == 302


def test_nobody_reads_the_audit_events_of_a_breach_report_about_themselves(
    app: Flask,
    make_user: Callable[..., User],
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """The breach pages answer "not found" to the person a case is about; the audit trail does too
    (issue 9). An auditor a report is about reads none of its events on the page, through the API
    or in the CSV; another auditor reads every one; comms and administrators read none."""
    subject = make_user("auditor", name="Sam Subject")
    made = breaches.report_breach(
        breaches.BreachAnswers(
            account="@someone",
            link="https://x.com/someone/status/1",
            description="Posted a ward photo.",
            clauses=("6.11",),
            reputational_risk=False,
            subject_kind=breaches.SubjectKind.USER,
            subject_user=subject.email,
        ),
        [],
        make_user("staff", name="Robin Whistle"),
    )
    db.session().commit()
    events = set(
        db.session()
        .execute(
            select(AuditEvent.seq).where(
                AuditEvent.object_type == "breach_report", AuditEvent.object_id == made.reference
            )
        )
        .scalars()
    )
    assert events
    readers = {
        "subject": subject,
        "auditor": make_user("auditor"),
        "comms": make_user("comms"),
        "admin": make_user("admin"),
    }
    reads: dict[str, tuple[bool, bool, bool]] = {}
    for name, reader in readers.items():
        browser = browser_as(user=reader)
        page = browser.get(f"/audit?object={made.reference}").get_data(as_text=True)
        listed = (
            app.test_client()
            .get(f"/api/v1/audit-events?object={made.reference}", headers=api_token(reader))
            .get_json()["items"]
        )
        exported = browser.get(f"/audit/export.csv?object=breach_report:{made.reference}").get_data(as_text=True)
        assert not listed or {item["seq"] for item in listed} == events, name
        reads[name] = ("Robin Whistle" in page, bool(listed), made.reference in exported)
    assert reads == {"subject": (False,) * 3, "auditor": (True,) * 3, "comms": (False,) * 3, "admin": (False,) * 3}
