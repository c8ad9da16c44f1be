"""The administrator roster (SPEC capability 5, policy 7.2): who holds which role on each account,
granted by whom and until when; ending a grant (revoked, expired, or the person left) flags every
credential the person could know for rotation; leavers' exposure; pages, CSV and the JSON API.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from registry import clock, db
from registry.audit.models import AuditAnchor, AuditEvent
from registry.audit.services import Actor
from registry.auth import services as accounts
from registry.auth.models import User, UserRole
from registry.channels.models import Channel
from registry.errors import Conflict, Invalid, NotPermitted
from registry.roster import services as roster
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant
from registry.vault import services as vault
from registry.vault.models import Credential, CredentialReveal, RevealAction
from tests.conftest import Browser

TODAY = clock.today()
IN_A_YEAR = TODAY + dt.timedelta(days=365)


@pytest.fixture(autouse=True)
def _dates_as_this_test_starts() -> None:
    """A run can cross midnight: each test takes the date when it starts, not when the module loaded."""
    global TODAY, IN_A_YEAR
    TODAY = clock.today()
    IN_A_YEAR = TODAY + dt.timedelta(days=365)


def text_of(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def audit_events(action: str) -> list[AuditEvent]:
    return list(
        db.session().execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()
    )


def events_so_far(connection: Connection) -> int:
    return connection.execute(select(AuditAnchor.seq)).scalar_one()


def grant_count(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(RosterGrant)).scalar_one()


def flagged(*channels: Channel) -> dict[tuple[str, str], list[str]]:
    """(reference, kind) → rotation reasons, of every credential flagged on these channels."""
    db.session().expire_all()
    rows = (
        db.session()
        .execute(
            select(Credential).where(
                Credential.channel_id.in_([c.id for c in channels]), Credential.rotation_required.is_(True)
            )
        )
        .unique()
        .scalars()
    )
    return {(c.channel.reference, c.kind): [r["reason"] for r in c.rotation_reasons] for c in rows}


@pytest.fixture
def comms(make_user: Callable[..., User]) -> User:
    return make_user("comms", name="Cara Comms")


@pytest.fixture
def channel(make_channel: Callable[..., Channel]) -> Channel:
    return make_channel("active")


def store(channel: Channel, kind: str, value: str, actor: User) -> Credential:
    credential = vault.store(channel, kind, value, "Onboarding the account.", actor)
    db.session().commit()
    return credential


def saw(user: User, credential: Credential, action: RevealAction = RevealAction.REVEAL) -> None:
    """``user`` revealed (or otherwise used) the credential's current value now."""
    db.session().add(
        CredentialReveal(
            credential_id=credential.id,
            version=credential.current_version,
            user_id=user.id,
            action=action.value,
            reason="Posting for the service.",
            occurred_at=db.utcnow(),
        )
    )
    db.session().commit()


def external(
    channel: Channel,
    actor: User,
    *,
    email: str = "sam@agency.example",
    role: str = "editor",
    expires_on: dt.date | None = None,
    name: str = "Sam Agency",
) -> RosterGrant:
    granted = roster.grant(
        channel,
        email=email,
        name=name,
        organisation="Bright Agency Ltd",
        platform_role=role,
        expires_on=expires_on,
        actor=actor,
    )
    db.session().commit()
    return granted


# --- granting ---------------------------------------------------------------------------------


def test_a_registry_user_is_recognised_by_email_and_keeps_their_own_name(
    app: Flask,
    make_user: Callable[..., User],
    comms: User,
    channel: Channel,
) -> None:
    """The grant is the user's (name from their account, whatever was typed); it is audited."""
    holder = make_user("staff", name="Jo Bloggs", email="jo.bloggs@example.nhs.uk")

    granted = roster.grant(
        channel,
        email="  Jo.Bloggs@Example.NHS.uk ",
        name="Someone Else",
        organisation="Ignored",
        platform_role="Editor",
        expires_on=IN_A_YEAR,
        actor=comms,
    )
    db.session().commit()

    assert (granted.user_id, granted.person_name, granted.email, granted.organisation) == (
        holder.id,
        "Jo Bloggs",
        "jo.bloggs@example.nhs.uk",
        None,
    )
    assert (granted.platform_role, granted.granted_by_id, granted.granted_on, granted.expires_on) == (
        "editor",
        comms.id,
        TODAY,
        IN_A_YEAR,
    )
    assert granted.is_active
    [event] = audit_events("roster:grant")
    assert (event.object_type, event.object_id, event.actor_id) == (
        "roster_grant",
        f"{channel.reference}/{granted.id}",
        comms.id,
    )
    assert '"platform_role":"editor"' in event.details and '"person":"Jo Bloggs"' in event.details


def test_an_external_person_needs_a_name_and_an_organisation(
    app: Flask,
    connection: Connection,
    comms: User,
    channel: Channel,
) -> None:
    """An agency contact is recorded with their name, organisation and e-mail address."""
    with pytest.raises(Invalid) as refused:
        roster.grant(channel, email="sam@agency.example", platform_role="editor", actor=comms)
    assert refused.value.errors == {
        "name": "Enter the person's full name: they are not a user of the Registry.",
        "organisation": "Enter the organisation the person works for, for example the agency's name.",
    }
    assert grant_count(connection) == 0

    granted = external(channel, comms)

    assert (granted.user_id, granted.person_name, granted.organisation, granted.email) == (
        None,
        "Sam Agency",
        "Bright Agency Ltd",
        "sam@agency.example",
    )


def test_every_mistake_is_named_at_once_and_nothing_changes(
    app: Flask,
    connection: Connection,
    comms: User,
    channel: Channel,
) -> None:
    """Bad e-mail, unknown role and an expiry that is not in the future: one 422 naming each field."""
    before = (grant_count(connection), events_so_far(connection))

    with pytest.raises(Invalid) as refused:
        roster.grant(
            channel,
            email="not an address",
            name="A",
            organisation="B",
            platform_role="superuser",
            expires_on=TODAY,
            actor=comms,
        )

    assert refused.value.errors == {
        "email": "Enter an email address in the correct format, like name@example.nhs.uk",
        "platform_role": roster.ROLE_CHOICE_MESSAGE,
        "expires_on": "The expiry date must be in the future.",
    }
    assert (grant_count(connection), events_so_far(connection)) == before


@pytest.mark.parametrize("status", ["rejected", "withdrawn", "retired"])
def test_closed_channels_cannot_have_anyone_added(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
    status: str,
) -> None:
    """There is no account to administer: 409 naming the channel's state."""
    closed = make_channel(status)

    with pytest.raises(Conflict) as refused:
        external(closed, comms)

    assert refused.value.message == (
        f"{closed.reference} is {closed.status_enum.phrase}: there is no account to administer."
    )
    assert grant_count(connection) == 0


def test_the_same_person_cannot_hold_the_same_role_twice(
    app: Flask,
    make_user: Callable[..., User],
    comms: User,
    channel: Channel,
) -> None:
    """A duplicate active grant is refused; another role, or the same role after removal, is allowed."""
    holder = make_user("staff", name="Jo Bloggs")
    first = roster.grant(channel, email=holder.email, platform_role="editor", actor=comms)
    external(channel, comms)

    with pytest.raises(Invalid) as refused:
        roster.grant(channel, email=holder.email.upper(), platform_role="editor", actor=comms)
    assert refused.value.errors == {
        "email": f"Jo Bloggs already holds the editor role on {channel.reference} (granted {roster.uk_date(TODAY)})."
    }
    with pytest.raises(Invalid):
        external(channel, comms, name="Sam A. Again")

    roster.grant(channel, email=holder.email, platform_role="admin", actor=comms)
    roster.revoke(first, reason="Moved to another team.", actor=comms)
    again = roster.grant(channel, email=holder.email, platform_role="editor", actor=comms)

    assert again.id != first.id and again.is_active


def test_someone_who_has_left_cannot_be_given_a_role(
    app: Flask,
    make_user: Callable[..., User],
    comms: User,
    channel: Channel,
) -> None:
    gone = make_user("staff", name="Lee Left")
    accounts.deactivate(gone, actor=Actor.system("tests"))

    with pytest.raises(Invalid) as refused:
        roster.grant(channel, email=gone.email, platform_role="editor", actor=comms)

    assert refused.value.errors == {
        "email": "Lee Left has left the Trust (their account is deactivated), so cannot be given a role."
    }


@pytest.mark.parametrize("role", ["auditor", "staff", "admin"])
def test_only_the_communications_team_changes_a_roster(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
    comms: User,
    channel: Channel,
    role: str,
) -> None:
    granted = external(channel, comms)
    other = make_user(role)
    before = (grant_count(connection), events_so_far(connection))

    with pytest.raises(NotPermitted):
        external(channel, other, email="new@agency.example")
    with pytest.raises(NotPermitted):
        roster.revoke(granted, reason="Not needed.", actor=other)

    assert (grant_count(connection), events_so_far(connection)) == before
    assert connection.execute(select(RosterGrant.revoked_at).where(RosterGrant.id == granted.id)).scalar_one() is None


# --- ending a grant ---------------------------------------------------------------------------


def test_revoking_needs_a_reason_and_flags_every_credential_of_that_channel_only(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
    channel: Channel,
) -> None:
    """Who, when and why are kept; each of the channel's credentials gets the reason; other channels' do not."""
    other = make_channel("active")
    store(channel, "password", "correct-horse-1", comms)
    store(channel, "notes", "Hardware key in the comms safe.", comms)
    store(other, "password", "battery-staple-2", comms)
    granted = external(channel, comms)
    before = events_so_far(connection)

    with pytest.raises(Invalid) as refused:
        roster.revoke(granted, reason="   ", actor=comms)
    assert refused.value.errors == {"reason": "Enter why this person is being removed from the roster."}
    assert events_so_far(connection) == before and flagged(channel) == {}

    roster.revoke(granted, reason="The agency contract ended.", actor=comms)
    db.session().commit()

    row = connection.execute(
        select(RosterGrant.revoked_at, RosterGrant.revoked_by_id, RosterGrant.revoke_reason).where(
            RosterGrant.id == granted.id
        )
    ).one()
    assert row.revoked_at is not None and (row.revoked_by_id, row.revoke_reason) == (
        comms.id,
        "The agency contract ended.",
    )
    reason = "Sam Agency (editor) removed from the roster: The agency contract ended."
    assert flagged(channel, other) == {
        (channel.reference, "password"): [reason],
        (channel.reference, "notes"): [reason],
    }
    [event] = audit_events("roster:revoke")
    assert event.actor_id == comms.id and '"credentials_flagged":2' in event.details
    assert len(audit_events("credential:rotation_required")) == 2


def test_a_grant_is_revoked_once(app: Flask, connection: Connection, comms: User, channel: Channel) -> None:
    granted = external(channel, comms)
    roster.revoke(granted, reason="Contract ended.", actor=comms)
    db.session().commit()
    before = events_so_far(connection)

    with pytest.raises(Conflict) as refused:
        roster.revoke(granted, reason="Again.", actor=comms)

    assert refused.value.message == (
        f"Sam Agency (editor) was already removed from the roster of {channel.reference} on {roster.uk_date(TODAY)}."
    )
    assert events_so_far(connection) == before


def test_expired_grants_are_ended_by_the_system_and_flag_the_channel(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
    channel: Channel,
) -> None:
    """A grant ends the day after its expiry date; later or open-ended grants stay."""
    later_channel = make_channel("active")
    store(channel, "password", "correct-horse-1", comms)
    store(later_channel, "password", "battery-staple-2", comms)
    ten_days = TODAY + dt.timedelta(days=10)
    due = external(channel, comms, expires_on=ten_days)
    on_the_day = external(later_channel, comms, expires_on=ten_days + dt.timedelta(days=1), email="kim@agency.example")
    open_ended = external(channel, comms, email="lee@agency.example")

    ended = roster.expire_due(today=ten_days + dt.timedelta(days=1))
    db.session().commit()

    assert ended == 1
    active = dict(connection.execute(select(RosterGrant.id, RosterGrant.revoked_at.is_(None))).all())
    assert active == {due.id: False, on_the_day.id: True, open_ended.id: True}
    row = connection.execute(
        select(RosterGrant.revoked_by_id, RosterGrant.revoke_reason).where(RosterGrant.id == due.id)
    ).one()
    assert tuple(row) == (None, f"grant expired on {roster.uk_date(ten_days)}")
    assert flagged(channel, later_channel) == {
        (channel.reference, "password"): [
            f"Sam Agency (editor) removed from the roster: grant expired on {roster.uk_date(ten_days)}"
        ],
    }
    [event] = audit_events("roster:expire")
    assert (event.actor, event.actor_id) == ("roster expiry", None)
    assert roster.expire_due(today=ten_days + dt.timedelta(days=1)) == 0


def test_grants_expiring_soon_are_listed_soonest_first(app: Flask, comms: User, channel: Channel) -> None:
    soon = external(channel, comms, expires_on=TODAY + dt.timedelta(days=5))
    sooner = external(channel, comms, expires_on=TODAY + dt.timedelta(days=2), email="kim@agency.example")
    external(channel, comms, expires_on=TODAY + dt.timedelta(days=40), email="far@agency.example")
    ended = external(channel, comms, expires_on=TODAY + dt.timedelta(days=3), email="gone@agency.example")
    roster.revoke(ended, reason="Left the agency.", actor=comms)

    listed = db.session().execute(roster.expiring()).unique().scalars().all()

    assert [g.id for g in listed] == [sooner.id, soon.id]


# --- leavers ----------------------------------------------------------------------------------


def test_a_leaver_flags_exactly_the_credentials_they_could_know(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    """Every credential of the channels they administered, and every credential whose current value
    they saw on any channel; not one rotated after they saw it, not one someone else saw, not a refused
    reveal, and no other channel's."""
    leaver = make_user("comms", name="Lee Leaver")
    colleague = make_user("comms", name="Col League")
    administered, seen, rotated, others_seen, refused, untouched = (make_channel("active") for _ in range(6))
    admin_password = store(administered, "password", "pw-administered", comms)
    store(administered, "totp_seed", "JBSWY3DPEHPK3PXP", comms)
    seen_password = store(seen, "password", "pw-seen", comms)
    store(seen, "recovery_email", "comms@example.nhs.uk", comms)
    rotated_password = store(rotated, "password", "pw-old", comms)
    others_password = store(others_seen, "password", "pw-others", comms)
    refused_password = store(refused, "password", "pw-refused", comms)
    store(untouched, "password", "pw-untouched", comms)
    roster.grant(administered, email=leaver.email, platform_role="admin", actor=comms)
    colleague_grant = roster.grant(administered, email=colleague.email, platform_role="editor", actor=comms)
    db.session().commit()
    saw(leaver, admin_password)
    saw(leaver, seen_password, RevealAction.COPY)
    saw(leaver, rotated_password)
    store(rotated, "password", "pw-new", comms)
    saw(colleague, others_password)
    saw(leaver, refused_password, RevealAction.REFUSED)

    report = roster.leaver(leaver, Actor.system("users deactivate"))
    db.session().commit()

    assert [g.channel_id for g in report.grants] == [administered.id]
    assert {(c.channel.reference, c.kind) for c in report.credentials} == {
        (administered.reference, "password"),
        (administered.reference, "totp_seed"),
        (seen.reference, "password"),
    }
    removed = "Lee Leaver (admin) removed from the roster: left the Trust"
    seen_by = "seen by Lee Leaver, who has left"
    assert flagged(administered, seen, rotated, others_seen, refused, untouched) == {
        (administered.reference, "password"): [removed, seen_by],
        (administered.reference, "totp_seed"): [removed],
        (seen.reference, "password"): [seen_by],
    }
    assert db.session().get(RosterGrant, colleague_grant.id).is_active  # type: ignore[union-attr]
    assert report.summary() == (
        "Lee Leaver: 1 roster grant ended; 3 credentials marked rotation required "
        "(2 on channels they administered, 2 whose current value they had seen)."
    )


def test_a_leaver_loses_grants_recorded_under_their_email_before_they_had_an_account(
    app: Flask,
    make_user: Callable[..., User],
    comms: User,
    channel: Channel,
) -> None:
    early = external(channel, comms, email="new.starter@example.nhs.uk", name="New Starter")
    person = make_user("staff", email="new.starter@example.nhs.uk", name="New Starter")

    report = roster.leaver(person, Actor.system("users deactivate"))

    assert [g.id for g in report.grants] == [early.id]
    assert not early.is_active and early.revoke_reason == "left the Trust"


def test_leavers_exposure_shows_exactly_which_secrets_each_leaver_saw(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    comms: User,
    count_queries: Callable[[], Any],
) -> None:
    """Per leaver, the credentials they saw that are not rotated since, with what they did; in three queries."""
    first, second, still_here = (
        make_user("comms", name="Ann First"),
        make_user("comms", name="Ben Second"),
        make_user("comms"),
    )
    a, b = make_channel("active"), make_channel("active")
    a_password = store(a, "password", "pw-a", comms)
    a_codes = store(a, "recovery_codes", "1111 2222 3333", comms)
    b_password = store(b, "password", "pw-b", comms)
    saw(first, a_password)
    saw(first, a_password)
    saw(first, a_password, RevealAction.COPY)
    saw(first, b_password)
    store(b, "password", "pw-b-rotated", comms)
    saw(second, a_codes, RevealAction.RECOVERY_CODES_REVEAL)
    saw(still_here, b_password)
    for person in (first, second):
        accounts.deactivate(person, actor=Actor.system("tests"))
    db.session().commit()
    db.session().expire_all()

    with count_queries() as counted:
        exposure = roster.exposure_of_leavers()

    assert counted.n == 3
    shown = {
        e.user.name: {(s.credential.channel.reference, s.credential.kind): s.uses for s in e.seen} for e in exposure
    }
    assert shown == {
        "Ann First": {(a.reference, "password"): {"reveal": 2, "copy": 1}},
        "Ben Second": {(a.reference, "recovery_codes"): {"recovery_codes_reveal": 1}},
    }


@pytest.fixture
def leaver_with_access(app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel], comms: User):  # type: ignore[no-untyped-def]
    """A comms member on one channel's roster who also revealed another channel's password."""
    person = make_user("comms", name="Lee Leaver")
    administered, seen = make_channel("active"), make_channel("active")
    store(administered, "password", "pw-administered", comms)
    saw(person, store(seen, "password", "pw-seen", comms))
    roster.grant(administered, email=person.email, platform_role="owner", actor=comms)
    db.session().commit()
    return person, administered, seen


def assert_cleaned_up(person: User, administered: Channel, seen: Channel) -> None:
    db.session().expire_all()
    assert (
        db.session()
        .execute(
            select(func.count())
            .select_from(RosterGrant)
            .where(RosterGrant.user_id == person.id, RosterGrant.revoked_at.is_(None))
        )
        .scalar_one()
        == 0
    )
    assert flagged(administered, seen) == {
        (administered.reference, "password"): ["Lee Leaver (owner) removed from the roster: left the Trust"],
        (seen.reference, "password"): ["seen by Lee Leaver, who has left"],
    }


def test_users_deactivate_on_the_command_line_ends_the_leavers_access(app: Flask, leaver_with_access: Any) -> None:
    """``users deactivate EMAIL`` (SPEC: "a leaver: signs them out, flags rotations") runs the leaver clean-up."""
    person, administered, seen = leaver_with_access

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["users", "deactivate", person.email])

    assert result.exit_code == 0, result.output
    assert_cleaned_up(person, administered, seen)


def test_deactivating_on_the_admin_page_ends_the_leavers_access(
    app: Flask,
    browser_as: Callable[..., Browser],
    leaver_with_access: Any,
) -> None:
    person, administered, seen = leaver_with_access

    response = browser_as("admin").post(f"/admin/users/{person.id}/deactivate")

    assert response.status_code == 302
    assert_cleaned_up(person, administered, seen)


# --- pages ------------------------------------------------------------------------------------


def test_comms_add_and_remove_people_on_a_channels_roster_page(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    channel: Channel,
) -> None:
    comms_browser = browser_as("comms")
    holder = make_user("staff", name="Jo Bloggs")
    store(channel, "password", "pw-1", comms_browser.user)  # type: ignore[attr-defined]
    path = f"/channels/{channel.reference}/roster"

    page = comms_browser.get(path)
    added = comms_browser.post(path, {"email": holder.email, "platform_role": "moderator"})
    listed = comms_browser.get(path)

    assert page.status_code == 200 and "Add a person to the roster" in text_of(page)
    assert added.status_code == 302
    assert "Jo Bloggs" in text_of(listed) and "Moderator" in text_of(listed)
    [granted] = db.session().execute(select(RosterGrant)).unique().scalars()

    confirm = comms_browser.get(f"{path}/{granted.id}/revoke")
    removed = comms_browser.post(f"{path}/{granted.id}/revoke", {"reason": "Moved to another Trust."})
    after = comms_browser.get(path)

    assert confirm.status_code == 200 and "Remove Jo Bloggs from the roster" in text_of(confirm)
    assert removed.status_code == 302
    assert "Past roles" in text_of(after) and "Moved to another Trust." in text_of(after)
    assert flagged(channel) == {
        (channel.reference, "password"): ["Jo Bloggs (moderator) removed from the roster: Moved to another Trust."]
    }


def test_the_roster_form_explains_each_mistake(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
    channel: Channel,
) -> None:
    """422 with an error summary and the message at each field; nothing is added."""
    comms_browser = browser_as("comms")
    path = f"/channels/{channel.reference}/roster"

    response = comms_browser.post(
        path,
        {"email": "sam@agency.example", "expires_on[day]": "31", "expires_on[month]": "2", "expires_on[year]": "2030"},
    )
    body = text_of(response)

    assert response.status_code == 422
    assert "There is a problem" in body
    assert "Expiry date (optional) must be a real date" in body
    assert grant_count(connection) == 0
    missing = comms_browser.post(path, {"email": "sam@agency.example"})
    assert missing.status_code == 422
    for message in (
        "Enter the person's full name: they are not a user of the Registry.",
        "Enter the organisation the person works for, for example the agency's name.",
        roster.ROLE_CHOICE_MESSAGE,
    ):
        assert text_of(missing).count(message) == 2, message


def test_removing_someone_needs_a_reason_on_the_page(
    app: Flask,
    browser_as: Callable[..., Browser],
    comms: User,
    channel: Channel,
) -> None:
    granted = external(channel, comms)
    response = browser_as("comms").post(f"/channels/{channel.reference}/roster/{granted.id}/revoke", {"reason": ""})

    assert response.status_code == 422
    assert text_of(response).count("Enter why this person is being removed from the roster.") == 2
    assert db.session().get(RosterGrant, granted.id).is_active  # type: ignore[union-attr]


def test_auditors_read_and_export_rosters_but_cannot_change_them(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
    comms: User,
    channel: Channel,
) -> None:
    granted = external(channel, comms)
    auditor = browser_as("auditor")
    path = f"/channels/{channel.reference}/roster"
    before = (grant_count(connection), events_so_far(connection))

    page = auditor.get(path)
    overview = auditor.get("/roster")

    assert page.status_code == 200 and "Sam Agency" in text_of(page)
    assert "Add a person to the roster" not in text_of(page) and "Remove" not in text_of(page)
    assert overview.status_code == 200 and "Sam Agency" in text_of(overview)
    assert auditor.get("/roster/export.csv").status_code == 200
    assert (
        auditor.post(
            path, {"email": "new@agency.example", "name": "N", "organisation": "O", "platform_role": "editor"}
        ).status_code
        == 403
    )
    assert auditor.get(f"{path}/{granted.id}/revoke").status_code == 403
    assert auditor.post(f"{path}/{granted.id}/revoke", {"reason": "No."}).status_code == 403
    assert (grant_count(connection), events_so_far(connection)) == before


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_other_roles_cannot_see_rosters(
    app: Flask,
    browser_as: Callable[..., Browser],
    comms: User,
    channel: Channel,
    role: str,
) -> None:
    external(channel, comms)
    browser = browser_as(role)
    for path in (f"/channels/{channel.reference}/roster", "/roster", "/roster/export.csv", "/roster/leavers"):
        assert browser.get(path).status_code == 403, path


def test_the_roster_csv_holds_every_grant_and_its_history(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    comms: User,
    channel: Channel,
) -> None:
    """One row per grant, active or ended, with who/when/why; a formula-like value is neutralised."""
    other = make_channel("active")
    ended = external(channel, comms, expires_on=IN_A_YEAR)
    roster.revoke(ended, reason='=HYPERLINK("http://evil.example")', actor=comms)
    kept = external(other, comms, role="analyst", email="kim@agency.example", name="Kim Analyst")
    db.session().commit()

    response = browser_as("auditor").get("/roster/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    one = browser_as("auditor").get(f"/roster/export.csv?channel={other.reference}")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="roster.csv"' in response.headers["Content-Disposition"]
    assert [(r["channel"], r["grant_id"], r["person_name"], r["platform_role"], r["status"]) for r in rows] == [
        (channel.reference, str(ended.id), "Sam Agency", "editor", "ended"),
        (other.reference, str(kept.id), "Kim Analyst", "analyst", "active"),
    ]
    assert rows[0]["revoke_reason"] == '\'=HYPERLINK("http://evil.example")'
    assert (rows[0]["revoked_by"], rows[0]["granted_by"], rows[0]["expires_on"]) == (
        "Cara Comms",
        "Cara Comms",
        IN_A_YEAR.isoformat(),
    )
    assert (rows[1]["organisation"], rows[1]["registry_user"], rows[1]["revoked_at"]) == ("Bright Agency Ltd", "no", "")
    assert [r["person_name"] for r in csv.DictReader(io.StringIO(one.get_data(as_text=True)))] == ["Kim Analyst"]


def test_the_leavers_page_lists_what_each_leaver_saw(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    comms: User,
    channel: Channel,
) -> None:
    gone = make_user("comms", name="Lee Leaver")
    saw(gone, store(channel, "password", "pw-1", comms))
    accounts.deactivate(gone, actor=Actor.system("tests"))
    db.session().commit()

    body = text_of(browser_as("auditor").get("/roster/leavers"))

    assert "Lee Leaver" in body and channel.reference in body and "Password (version 1)" in body
    assert "Revealed 1 time" in body
    assert "pw-1" not in body


# --- the JSON API -----------------------------------------------------------------------------


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_api_lists_adds_and_revokes_grants(
    app: Flask,
    client: Any,
    api_token: Callable[[User], dict[str, str]],
    comms: User,
    channel: Channel,
) -> None:
    headers = api_token(comms)
    path = f"/api/v1/channels/{channel.reference}/roster"

    created = client.post(
        path,
        json={
            "email": "sam@agency.example",
            "name": "Sam Agency",
            "organisation": "Bright Agency Ltd",
            "platform_role": "editor",
            "expires_on": IN_A_YEAR.isoformat(),
        },
        headers=headers,
    )
    body = created.get_json()
    revoked = client.post(f"{path}/{body['id']}/revoke", json={"reason": "Contract ended."}, headers=headers)
    listed = client.get(path, headers=headers)

    assert created.status_code == 201
    assert body == {
        "id": body["id"],
        "person_name": "Sam Agency",
        "email": "sam@agency.example",
        "organisation": "Bright Agency Ltd",
        "platform_role": "editor",
        "user_id": None,
        "granted_by": "Cara Comms",
        "granted_on": TODAY.isoformat(),
        "expires_on": IN_A_YEAR.isoformat(),
        "revoked_at": None,
        "revoked_by": None,
        "revoke_reason": None,
        "active": True,
    }
    assert revoked.status_code == 200
    assert (revoked.get_json()["active"], revoked.get_json()["revoke_reason"]) == (False, "Contract ended.")
    assert listed.status_code == 200
    assert [(g["id"], g["active"], g["revoked_by"]) for g in listed.get_json()["items"]] == [
        (body["id"], False, "Cara Comms")
    ]


def test_api_refusals_are_problem_details(
    app: Flask,
    client: Any,
    api_token: Callable[[User], dict[str, str]],
    make_user: Callable[..., User],
    comms: User,
    channel: Channel,
) -> None:
    headers = api_token(comms)
    path = f"/api/v1/channels/{channel.reference}/roster"
    granted = external(channel, comms)

    invalid = problem(
        client.post(path, json={"email": "x", "platform_role": 3, "expires_on": "soon"}, headers=headers), 422
    )
    missing_reason = problem(client.post(f"{path}/{granted.id}/revoke", json={}, headers=headers), 422)
    unknown = problem(client.post(f"{path}/999999/revoke", json={"reason": "r"}, headers=headers), 404)
    client.post(f"{path}/{granted.id}/revoke", json={"reason": "Ended."}, headers=headers)
    twice = problem(client.post(f"{path}/{granted.id}/revoke", json={"reason": "Again."}, headers=headers), 409)
    auditor = api_token(make_user("auditor"))
    forbidden = problem(client.post(path, json={"email": "a@b.example"}, headers=auditor), 403)

    assert invalid["errors"] == {
        "platform_role": "platform_role must be text.",
        "expires_on": "expires_on must be a date like 2027-03-31.",
    }
    assert missing_reason["errors"] == {"reason": "Enter why this person is being removed from the roster."}
    assert unknown["detail"] == f"{channel.reference} has no roster grant 999999."
    assert twice["detail"].startswith("Sam Agency (editor) was already removed from the roster")
    assert forbidden["status"] == 403
    assert client.get(path, headers=auditor).status_code == 200
    assert problem(client.get(path, headers=api_token(make_user("staff"))), 403)["status"] == 403


# --- no N+1 -----------------------------------------------------------------------------------


def seed_roster(main: Channel, review: AccessReview, start: int, count: int) -> None:
    """``count`` people, each granted a role on ``main`` by themselves (a third since removed by
    themselves), with an item in ``review`` (half decided) and a review of their own; half have left
    after seeing a credential of a channel of their own."""
    session = db.session()
    now = db.utcnow()
    people = [
        User(
            email=f"holder{n}@example.nhs.uk",
            name=f"Holder {n}",
            role_grants=[UserRole(role="staff")],
            active=bool(n % 2),
            deactivated_at=None if n % 2 else now,
        )
        for n in range(start, start + count)
    ]
    session.add_all(people)
    session.flush()
    for offset, person in enumerate(people):
        n = start + offset
        own = Channel(
            platform="x",
            handle=f"rostered{n}",
            display_name=f"Rostered {n}",
            url=f"https://x.com/rostered{n}",
            department="Estates",
            purpose="Updates.",
            audience="Patients.",
            sponsor="Director",
            policy_acknowledged_at=now,
            status="active",
            requester_id=person.id,
        )
        session.add(own)
        session.flush()
        credential = Credential(
            channel_id=own.id,
            kind="password",
            current_version=1,
            rotated_at=now - dt.timedelta(days=1),
            rotation_due_on=TODAY,
            rotation_required=False,
            rotation_reasons_json="[]",
        )
        granted = RosterGrant(
            channel_id=main.id,
            user_id=person.id,
            person_name=person.name,
            email=person.email,
            platform_role="editor",
            granted_by_id=person.id,
            granted_on=TODAY,
            revoked_at=now if n % 3 == 0 else None,
            revoked_by_id=person.id if n % 3 == 0 else None,
            revoke_reason="Moved on." if n % 3 == 0 else None,
        )
        session.add_all([credential, granted])
        session.flush()
        session.add(
            CredentialReveal(
                credential_id=credential.id,
                version=1,
                user_id=person.id,
                action="reveal",
                reason="Posting.",
                occurred_at=now,
            )
        )
        decided = {"decision": "certified", "decided_by_id": person.id, "decided_at": now} if n % 2 else {}
        session.add(AccessReviewItem(review_id=review.id, grant_id=granted.id, **decided))
        own_review = AccessReview(title=f"Review {n}", scope="some", started_by_id=person.id, due_on=TODAY)
        session.add(own_review)
        session.flush()
        session.add(AccessReviewItem(review_id=own_review.id, grant_id=granted.id))
    session.commit()


def test_roster_pages_run_the_same_statements_for_10_and_60_people(
    app: Flask,
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
    comms: User,
    channel: Channel,
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Every roster and review page, export and API list costs a fixed number of statements."""
    external(channel, comms)
    review = roster.start_review(title="Big review", channel_ids=None, due_on=TODAY, actor=comms)
    db.session().commit()
    browser = browser_as("comms")
    headers = api_token(comms)
    paths = (
        "/roster?per_page=100&status=all",
        f"/channels/{channel.reference}/roster",
        "/roster/export.csv",
        "/roster/leavers",
        "/access-reviews?per_page=100",
        f"/access-reviews/{review.reference}",
        f"/access-reviews/{review.reference}/export.csv",
    )
    api_path = f"/api/v1/channels/{channel.reference}/roster"

    def statements() -> dict[str, int]:
        counts = {}
        for path in (*paths, api_path):
            get = (
                (lambda p=path: browser.client.get(p, headers=headers))
                if path == api_path
                else (lambda p=path: browser.get(p))
            )
            assert get().status_code == 200, path
            with count_queries() as counted:
                assert get().status_code == 200, path
            counts[path] = counted.n
        return counts

    seed_roster(channel, review, 0, 10)
    small = statements()
    seed_roster(channel, review, 10, 50)
    large = statements()
    listed = browser.client.get(api_path, headers=headers).get_json()["items"]

    assert len(listed) == 61
    assert large == small
