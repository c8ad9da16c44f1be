"""Break-glass emergency access (issue 14, SPEC capability 17): the on-call role, granted only with a
second administrator's approval; an access opened with a fresh second factor for one channel and the
kinds of secret asked for, for a bounded window; every comms member told at once; reveals only of that
channel and those kinds, only in the window, audited as emergency reveals and marked for rotation; the
post-incident review in comms' work queue once the window ends, closed only with notes by someone else;
the Board report's figures; and policy 7.2 (nothing else in custody or the rosters for on-call).

Time is moved the way the Registry reads it: ``registry.db.utcnow`` (every "now" of the vault, the
engine and the work queue) is set to a later moment with ``monkeypatch``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import g
from sqlalchemy import select, update

from registry import db
from registry.audit.models import AuditEvent
from registry.auth.models import User, UserRole, UserSession
from registry.breakglass import services as breakglass
from registry.breakglass.models import EmergencyAccess
from registry.channels.models import Channel
from registry.notifications.models import Notification
from registry.reports import figures
from registry.vault import reveals
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialReveal
from registry.web import workqueue
from tests.conftest import Browser
from tests.test_separation_of_duties import location, requests_about, roles_of
from tests.test_vault import words

SEED = "JBSWY3DPEHPK3PXPJBSWY3DP"
PASSWORD = "Hijack-Proof-Horse-8812"
INCIDENT = "INC-2026-0142"
WHY = "The X account was taken over at 2 a.m. and is posting spam."


def opened(
    user: User, channel: Channel, kinds: Iterable[str] = ("password",), incident: str = INCIDENT, why: str = WHY
) -> EmergencyAccess:
    """An access ``user`` opens outside a page (their second factor counted as fresh, as an API token's is)."""
    g.auth_method = "token"
    try:
        access = breakglass.open_access(channel.reference, list(kinds), incident, why, user)
    finally:
        g.pop("auth_method", None)
    db.session().commit()
    return access


def in_custody(channel: Channel, comms: User) -> None:
    custody.store(channel, "password", PASSWORD, "Taking custody.", comms)
    custody.store(channel, "totp_seed", SEED, "Taking custody.", comms)
    custody.store(channel, "recovery_email", "social@example.nhs.uk", "Taking custody.", comms)
    db.session().commit()


def later(monkeypatch: pytest.MonkeyPatch, by: dt.timedelta) -> None:
    """Move the Registry's clock on by ``by``."""
    moment = dt.datetime.now(dt.UTC) + by
    monkeypatch.setattr(db, "utcnow", lambda: moment)


@dataclass(frozen=True)
class Event:
    actor_id: int | None
    object_id: str
    facts: dict[str, Any]


def emergency_events(action: str) -> list[Event]:
    """The audit events of ``action``, oldest first, their details read from the stored JSON."""
    db.session().expire_all()
    found = db.session().execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
    return [Event(e.actor_id, e.object_id, json.loads(e.details)) for e in found.scalars()]


def credential(channel: Channel, kind: str) -> Credential:
    db.session().expire_all()
    return custody.get_credential(channel, kind)


@pytest.fixture
def site(make_user: Callable[..., User], make_channel: Callable[..., Channel]) -> tuple[User, Channel, Channel]:
    comms = make_user("comms")
    channel, other = make_channel("active"), make_channel("active")
    in_custody(channel, comms)
    in_custody(other, comms)
    return comms, channel, other


def _open_page(browser: Browser, channel: Channel, kinds: list[str], **extra: str) -> object:
    return browser.post(
        "/break-glass",
        {"channel": channel.reference, "incident_reference": INCIDENT, "reason": WHY, "kinds": kinds, **extra},
    )


# --- the role -------------------------------------------------------------------------------------


def test_the_on_call_role_takes_effect_only_when_a_second_administrator_approves_it(
    browser_as: Callable[..., Browser], make_user: Callable[..., User]
) -> None:
    person = make_user("staff")
    first, second = browser_as("admin"), browser_as("admin")
    asked = first.post(
        f"/admin/users/{person.id}/roles", {"roles": ["staff", "on-call"], "reason": "Duty manager rota from May."}
    )
    assert location(asked) == f"/admin/users/{person.id}"
    assert roles_of(person) == {"staff"}
    [waiting] = requests_about(person)
    assert (waiting.status, waiting.roles) == ("pending", "on-call")
    assert first.post(f"/admin/approvals/{waiting.id}/approve").status_code == 403
    assert roles_of(person) == {"staff"}
    assert location(second.post(f"/admin/approvals/{waiting.id}/approve")) == "/admin/approvals"
    assert roles_of(person) == {"staff", "on-call"}


# --- opening --------------------------------------------------------------------------------------


def test_opening_needs_a_fresh_second_factor_and_tells_every_comms_member(
    browser_as: Callable[..., Browser], make_user: Callable[..., User], site: tuple[User, Channel, Channel]
) -> None:
    comms, channel, _other = site
    colleague, gone = make_user("comms"), make_user("comms")
    gone.active = False
    db.session().commit()
    on_call = browser_as("on-call")
    user: User = on_call.user  # type: ignore[attr-defined]
    stale = db.utcnow() - dt.timedelta(minutes=6)
    db.session().execute(update(UserSession).where(UserSession.user_id == user.id).values(second_factor_at=stale))
    db.session().commit()

    refused = _open_page(on_call, channel, ["password"])
    assert refused.status_code == 403
    assert "Confirm it is you with your authenticator app first" in words(refused)
    assert db.session().execute(select(EmergencyAccess)).first() is None

    db.session().execute(update(UserSession).where(UserSession.user_id == user.id).values(second_factor_at=db.utcnow()))
    db.session().commit()
    made = _open_page(on_call, channel, ["password", "totp_seed"])
    assert made.status_code == 302
    [access] = db.session().execute(select(EmergencyAccess)).unique().scalars()
    assert location(made) == f"/break-glass/{access.reference}"
    assert access.kind_list[0].value == "password" and len(access.kind_list) == 2
    assert dt.timedelta(minutes=239) < access.ends_at - access.opened_at <= dt.timedelta(minutes=240)
    messages = list(
        db.session()
        .execute(select(Notification).where(Notification.event == "emergency_access:open"))
        .unique()
        .scalars()
    )
    every_comms = set(
        db.session()
        .execute(
            select(UserRole.user_id)
            .join(User, User.id == UserRole.user_id)
            .where(UserRole.role == "comms", User.active.is_(True))
        )
        .scalars()
    )
    assert {comms.id, colleague.id} <= every_comms and gone.id not in every_comms
    assert {m.recipient_id for m in messages} == every_comms
    for message in messages:
        assert user.name in message.subject and channel.reference in message.subject
        assert WHY in message.body and INCIDENT in message.body
    [event] = emergency_events("emergency_access:open")
    assert (event.actor_id, event.object_id) == (user.id, access.reference)


def test_opening_refuses_bad_answers_naming_each_and_changes_nothing(
    browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]
) -> None:
    on_call = browser_as("on-call")
    page = on_call.post("/break-glass", {"channel": "", "incident_reference": "", "reason": " ", "kinds": []})
    assert page.status_code == 422
    text = words(page)
    for message in (
        "Choose the channel whose account needs emergency access",
        "Enter the incident reference",
        "Enter why you need emergency access",
        "Choose at least one kind of secret you need",
    ):
        assert message in text
    assert db.session().execute(select(EmergencyAccess)).first() is None
    assert emergency_events("emergency_access:open") == []


class TestWindow:
    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"BREAK_GLASS_MINUTES": 30}

    def test_the_window_comes_from_configuration(
        self, site: tuple[User, Channel, Channel], make_user: Callable[..., User]
    ) -> None:
        """REGISTRY_BREAK_GLASS_MINUTES=30: an access opened now ends in 30 minutes."""
        access = opened(make_user("on-call"), site[1])
        assert access.ends_at - access.opened_at == dt.timedelta(minutes=30)


# --- using it --------------------------------------------------------------------------------------


def test_reveals_only_that_channel_and_those_kinds_audited_as_emergency_and_marked_for_rotation(
    browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]
) -> None:
    _comms, channel, other = site
    on_call = browser_as("on-call")
    user: User = on_call.user  # type: ignore[attr-defined]
    access = opened(user, channel, ("password", "totp_seed"))
    ref = access.reference

    page = on_call.get(f"/break-glass/{ref}")
    assert page.status_code == 200
    assert "Reveal password" in words(page) and "Get a sign-in code" in words(page)
    assert "Recovery email" not in words(page)

    shown = on_call.post(f"/break-glass/{ref}/secrets/password/reveal")
    assert shown.status_code == 200
    assert PASSWORD in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"].startswith("no-store")
    code = on_call.post(f"/break-glass/{ref}/secrets/totp_seed/code")
    assert code.status_code == 200
    assert re.search(r'class="app-code"[^>]*>\d{3} \d{3}<', code.get_data(as_text=True))

    # Another kind of this channel, or the same kind of another channel (through the access's address
    # or the vault's own routes): refused, and the refusal kept.
    assert on_call.post(f"/break-glass/{ref}/secrets/recovery_email/reveal").status_code == 403
    assert (
        on_call.post(f"/channels/{other.reference}/credentials/password/reveal", {"password-reason": "x"}).status_code
        == 403
    )
    assert on_call.get(f"/channels/{channel.reference}/credentials").status_code == 403

    [reveal_event] = emergency_events("credential:emergency_reveal")
    assert reveal_event.object_id == f"{channel.reference}/password"
    assert reveal_event.facts["access"] == ref
    [code_event] = emergency_events("credential:emergency_totp_code_shown")
    assert code_event.facts["access"] == ref
    assert emergency_events("credential:reveal") == []
    [refused] = emergency_events("credential:reveal_refused")
    assert refused.facts["why"] == "a kind of secret the emergency access did not ask for"

    for kind in ("password", "totp_seed"):
        marked = credential(channel, kind)
        assert marked.rotation_required
        assert [r["reason"] for r in marked.rotation_reasons] == [f"Emergency access {ref}"]
    assert not credential(channel, "recovery_email").rotation_required
    assert not credential(other, "password").rotation_required
    db.session().refresh(access)
    assert access.reveals == 2


def test_a_reveal_needs_a_fresh_second_factor_and_is_refused_to_anyone_else(
    browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]
) -> None:
    _comms, channel, _other = site
    on_call = browser_as("on-call")
    user: User = on_call.user  # type: ignore[attr-defined]
    access = opened(user, channel)
    other_on_call = browser_as("on-call")
    refused = other_on_call.post(f"/break-glass/{access.reference}/secrets/password/reveal")
    assert refused.status_code == 403
    assert other_on_call.get(f"/break-glass/{access.reference}").status_code == 404

    stale = db.utcnow() - dt.timedelta(minutes=6)
    db.session().execute(update(UserSession).where(UserSession.user_id == user.id).values(second_factor_at=stale))
    db.session().commit()
    page = on_call.post(f"/break-glass/{access.reference}/secrets/password/reveal")
    assert page.status_code == 403
    assert PASSWORD not in page.get_data(as_text=True)
    whys = [e.facts["why"] for e in emergency_events("credential:reveal_refused")]
    assert whys == ["not their emergency access", "second factor not confirmed in the last 5 minutes"]
    assert emergency_events("credential:emergency_reveal") == []


def test_an_access_awaits_review_once_its_window_ends_with_nothing_run(
    make_user: Callable[..., User], site: tuple[User, Channel, Channel], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work queue reads the time: no sweep, no cron."""
    access = opened(make_user("on-call"), site[1])
    assert workqueue.for_comms().page.total == 0  # still open: nothing to review yet
    later(monkeypatch, dt.timedelta(minutes=239))
    assert workqueue.for_comms().page.total == 0
    later(monkeypatch, dt.timedelta(minutes=241))
    work = workqueue.for_comms()
    assert [(i.kind, i.reference, i.status_label) for i in work.page.items] == [
        ("Emergency access", access.reference, "Awaiting review")
    ]
    assert work.page.items[0].waiting_since == access.ends_at


def test_after_the_window_every_use_is_refused(
    browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]
) -> None:
    """An access opened 241 minutes ago (its times moved back: a signed-in session would not survive
    moving the clock on) reveals nothing, and the refusal is kept."""
    _comms, channel, _other = site
    on_call = browser_as("on-call")
    user: User = on_call.user  # type: ignore[attr-defined]
    access = opened(user, channel, ("password",))
    back = dt.timedelta(minutes=241)
    db.session().execute(
        update(EmergencyAccess)
        .where(EmergencyAccess.id == access.id)
        .values(opened_at=access.opened_at - back, ends_at=access.ends_at - back)
    )
    db.session().commit()
    page = on_call.post(f"/break-glass/{access.reference}/secrets/password/reveal")
    assert page.status_code == 403
    assert "has ended" in words(page)
    assert PASSWORD not in page.get_data(as_text=True)
    assert on_call.post(f"/break-glass/{access.reference}/secrets/password/code").status_code in (403, 409)
    assert [e.facts["why"] for e in emergency_events("credential:reveal_refused")][0] == "emergency access ended"
    assert emergency_events("credential:emergency_reveal") == []
    assert not credential(channel, "password").rotation_required
    assert "Awaiting review" in words(on_call.get(f"/break-glass/{access.reference}"))
    assert "Reveal password" not in words(on_call.get(f"/break-glass/{access.reference}"))


def test_the_on_call_home_page_says_where_to_open_an_access_and_lists_those_still_open(
    browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]
) -> None:
    comms, channel, _other = site
    on_call = browser_as("on-call")
    user: User = on_call.user  # type: ignore[attr-defined]
    home = words(on_call.get("/"))
    assert "0 emergency accesses open" in home and "open an emergency access" in home
    assert 'href="/break-glass"' in on_call.get("/").get_data(as_text=True)
    access = opened(user, channel, ("password",))
    page = on_call.get("/").get_data(as_text=True)
    assert "1 emergency access open" in words(on_call.get("/"))
    assert f'href="/break-glass/{access.reference}"' in page and channel.reference in page
    db.session().execute(
        update(EmergencyAccess)
        .where(EmergencyAccess.id == access.id)
        .values(
            opened_at=access.opened_at - dt.timedelta(minutes=241), ends_at=access.ends_at - dt.timedelta(minutes=241)
        )
    )
    db.session().commit()
    assert "0 emergency accesses open" in words(on_call.get("/"))  # its window has ended
    comms_home = words(browser_as("comms", user=comms).get("/"))
    assert "emergency accesses open" not in comms_home and "emergency access open" not in comms_home


# --- closing and the review ------------------------------------------------------------------------


def test_closed_early_it_awaits_review_which_needs_notes_and_someone_else(
    browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]
) -> None:
    comms_user, channel, _other = site
    # A member of comms on call opens it; they may not review it themselves.
    opener = browser_as("comms")
    user: User = opener.user  # type: ignore[attr-defined]
    access = opened(user, channel, ("password",))
    ref = access.reference
    assert opener.post(f"/break-glass/{ref}/secrets/password/reveal").status_code == 200
    assert opener.post(f"/break-glass/{ref}/review", {"note": "Fine."}).status_code == 409  # still open

    assert (
        location(opener.post(f"/break-glass/{ref}/close", {"note": "Password changed on X."})) == f"/break-glass/{ref}"
    )
    assert opener.post(f"/break-glass/{ref}/secrets/password/reveal").status_code == 403
    assert [i.reference for i in workqueue.for_comms().page.items] == [ref]
    assert ref in words(browser_as(user=comms_user).get("/queue"))

    same = opener.post(f"/break-glass/{ref}/review", {"note": "All fine."})
    assert same.status_code == 409
    assert "four-eyes rule" in words(same)
    reviewer = browser_as(user=comms_user)
    empty = reviewer.post(f"/break-glass/{ref}/review", {"note": "  "})
    assert empty.status_code == 422
    assert "Write the review notes" in words(empty)
    db.session().expire_all()
    assert db.session().get(EmergencyAccess, access.id).status == "closed"  # type: ignore[union-attr]

    done = reviewer.post(f"/break-glass/{ref}/review", {"note": "Needed: the account was hijacked. Rotated."})
    assert location(done) == f"/break-glass/{ref}"
    db.session().expire_all()
    reviewed = db.session().get(EmergencyAccess, access.id)
    assert reviewed is not None
    assert (reviewed.status, reviewed.reviewed_by_id) == ("reviewed", comms_user.id)
    assert workqueue.for_comms().page.total == 0
    assert [e.actor_id for e in emergency_events("emergency_access:review")] == [comms_user.id]
    assert credential(channel, "password").rotation_required


def test_comms_list_every_access(browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]) -> None:
    comms_user, channel, other = site
    first = opened(browser_as("on-call").user, channel)  # type: ignore[attr-defined]
    second = opened(browser_as("on-call").user, other)  # type: ignore[attr-defined]
    page = words(browser_as(user=comms_user).get("/break-glass/all"))
    assert page.index(second.reference) < page.index(first.reference)


# --- the Board report -----------------------------------------------------------------------------


def test_every_use_is_in_the_board_report(
    browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]
) -> None:
    comms_user, channel, other = site
    on_call = browser_as("on-call")
    access = opened(on_call.user, channel, ("password", "totp_seed"))  # type: ignore[attr-defined]
    on_call.post(f"/break-glass/{access.reference}/secrets/password/reveal")
    on_call.post(f"/break-glass/{access.reference}/secrets/totp_seed/code")
    on_call.post(f"/break-glass/{access.reference}/close")
    opened(browser_as("on-call").user, other)  # type: ignore[attr-defined]
    today = db.utcnow()
    computed = figures.compute(today.year, today.month)
    assert computed["break_glass"] == {"opened": 2, "reveals": 2, "reviewed": 0, "awaiting_review": 1}
    # The drafted report shows the section, in the policy's order (7.2, after promotional posts' 7.1).
    board = browser_as(user=comms_user)
    month = f"{today.year:04d}-{today.month:02d}"
    assert board.post("/reports", {"month": month}).status_code == 302
    page = words(board.get(f"/reports/{month}"))
    assert "Break-glass emergency access" in page
    assert "Emergency accesses opened 2" in page
    assert "Secrets or sign-in codes shown under them 2" in page
    assert page.index("Promotional posts") < page.index("Break-glass emergency access")


# --- policy 7.2 ------------------------------------------------------------------------------------


def test_on_call_reaches_nothing_else_in_custody_or_the_rosters(
    browser_as: Callable[..., Browser], site: tuple[User, Channel, Channel]
) -> None:
    _comms, channel, other = site
    on_call = browser_as("on-call")
    opened(on_call.user, channel, ("password",))  # type: ignore[attr-defined]
    for path in (
        "/credentials",
        f"/channels/{channel.reference}/credentials",
        f"/channels/{other.reference}/credentials",
        "/roster",
        f"/channels/{channel.reference}/roster",
        "/break-glass/all",
        "/queue",
    ):
        assert on_call.get(path).status_code == 403, path
    for path, data in (
        (f"/channels/{channel.reference}/credentials", {"kind": "password", "value": "new one", "reason": "x"}),
        (f"/channels/{channel.reference}/credentials/password/reveal", {"password-reason": "x"}),
        (f"/channels/{channel.reference}/credentials/totp_seed/code", {"reason": "x"}),
    ):
        assert on_call.post(path, data).status_code == 403, path
    with pytest.raises(Exception, match="communications team"):
        custody.store(channel, "password", "changed", "Rotating.", on_call.user)  # type: ignore[attr-defined]
    db.session().rollback()
    assert reveals.reveal_history(credential(channel, "password")) == []
    assert db.session().execute(select(CredentialReveal)).first() is None


def test_the_list_and_the_work_queue_run_the_same_statements_for_3_and_23_accesses(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    count_queries: Callable[[], Any],
) -> None:
    """Comms' list of every access, and their work queue with the reviews due, cost a fixed number of
    statements however many accesses there are."""
    comms = browser_as("comms")
    on_call = [make_user("on-call") for _ in range(3)]
    made = [0]

    def seed(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            access = opened(on_call[made[0] % 3], make_channel("active"))
            if made[0] % 2:  # half of them have ended and await review
                breakglass.close(access, on_call[made[0] % 3])
        db.session().commit()

    def statements() -> dict[str, int]:
        counts = {}
        for path in ("/break-glass/all?per_page=100", "/queue"):
            assert comms.get(path).status_code == 200, path
            with count_queries() as counted:
                assert comms.get(path).status_code == 200, path
            counts[path] = counted.n
        return counts

    seed(3)
    small = statements()
    seed(20)
    assert statements() == small


def test_the_identity_providers_role_map_accepts_on_call() -> None:
    """REGISTRY_OIDC_ROLE_MAP may map a provider's group to the on-call role (the roles are the SPEC's)."""
    from config import _role_map  # noqa: PLC0415  (the parser of that one variable)

    assert _role_map({"OIDC_ROLE_MAP": "Registry.OnCall=on-call,Registry.Comms=comms"}) == (
        ("Registry.OnCall", "on-call"),
        ("Registry.Comms", "comms"),
    )
