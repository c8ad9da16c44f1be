"""A security review of the separation of duties (issue 9, part 1): the paths round it that remained.

Each test first reproduces an attack that worked against the first version of the fix:

- a password-reset link (one administrator's click, then the person's mailbox) got past an enrolled
  comms member's two-factor sign-in, by minting new recovery codes in the session it opened;
- whoever knew a member of staff's password enrolled their own phone while the account needed no
  set-up link, and kept it when a second administrator later gave the account the comms role;
- one administrator reactivating a leaver gave back the comms role without a second administrator;
- an administrator chose their own line manager (a stand-in account they made), or made themselves
  someone's, and so read the breach reports about that person, and who made them;
- the operator's 24-hour permit to set up two-factor sign-in with a password outlived its first use.

The last test pins the new administration pages to a fixed number of SQL statements.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from registry import db
from registry.audit.services import Actor
from registry.auth import approvals, mfa, setup_links
from registry.auth import services as accounts
from registry.auth.models import AccountRequest, RecoveryCode, User
from registry.auth.permissions import Role
from registry.channels.models import Channel
from registry.errors import Conflict, NotPermitted
from tests.conftest import (
    TEST_PASSWORD,
    TOTP_SECRETS,
    Browser,
    csrf_token,
    next_code,
    sign_in,
)
from tests.test_separation_of_duties import (
    CHOSEN,
    actions,
    active_channel_with_secret,
    can_reveal,
    location,
    roles_of,
    words,
)
from tests.test_vault import (
    CommittedSite,
    committed,  # noqa: F401  (a fixture)
    new_user,
)


def recovery_code_hashes(user: User) -> set[str]:
    return set(
        db.session()
        .execute(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
        .scalars()
    )


def shown_key(page: TestResponse) -> bytes:
    """The authenticator key the two-factor set-up page shows (as text, for those who cannot scan)."""
    match = re.search(r'class="app-hash"><strong>([A-Z2-7 ]+)</strong>', page.get_data(as_text=True))
    assert match is not None, page.get_data(as_text=True)[:2000]
    text = match.group(1).replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


def current_code(secret: bytes) -> str:
    return mfa.code_at(secret, int(time.time() // mfa.STEP_SECONDS))


def test_a_password_reset_link_does_not_get_past_an_enrolled_persons_two_factor(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """One administrator resets an enrolled comms member's password; whoever reads the member's mailbox
    opens the link and chooses a password. That session used to be signed in (everyday pages only), and
    an everyday page, 'Create new recovery codes', handed it ten fresh second factors: sign in with the
    new password and one of them, and reveal. Now the link sets the password and then asks for the code
    from the person's authenticator app, as signing in does."""
    victim = browser_as("comms")
    person: User = victim.user  # type: ignore[attr-defined]
    channel = active_channel_with_secret(make_channel, person)
    codes_before = recovery_code_hashes(person)
    admin = browser_as("admin")
    assert location(admin.post(f"/admin/users/{person.id}/password")) == f"/admin/users/{person.id}"
    link = setup_links.open_link_for(person)
    assert link is not None
    path = link.path  # what the e-mail to the person carries

    intruder = app.test_client()
    assert location(intruder.get(path)) == "/account/set-up"
    chose = intruder.post(
        "/account/set-up",
        data={
            "password": CHOSEN,
            "confirm": CHOSEN,
            "csrf_token": csrf_token(intruder, "/account/set-up"),
        },
    )
    minted = intruder.post("/account/two-factor/recovery-codes", data={"csrf_token": csrf_token(intruder)})

    assert location(chose) == "/login/mfa"
    assert location(minted) == "/login"  # nobody is signed in yet
    db.session().expire_all()
    assert recovery_code_hashes(person) == codes_before
    again = app.test_client()
    sign_in(again, person, CHOSEN)  # the new password and the owner's own authenticator
    assert can_reveal(Browser(again), channel)
    assert app.test_client().get(path).status_code == 404  # the link was used once


def test_the_owner_finishes_a_password_reset_with_their_authenticator_code(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """The same path for the rightful owner: choose the password, give the code, signed in with the second
    factor proved (so privileged pages open without another step)."""
    person = make_user("auditor")
    accounts.reset_password(person, actor=make_user("admin"))
    db.session().commit()
    link = setup_links.open_link_for(person)
    assert link is not None
    client = app.test_client()
    client.get(link.path)
    client.post(
        "/account/set-up",
        data={
            "password": CHOSEN,
            "confirm": CHOSEN,
            "csrf_token": csrf_token(client, "/account/set-up"),
        },
    )
    wrong = client.post(
        "/login/mfa",
        data={"code": "000000", "csrf_token": csrf_token(client, "/login/mfa")},
    )
    assert wrong.status_code == 422
    done = client.post(
        "/login/mfa",
        data={
            "code": next_code(person),
            "csrf_token": csrf_token(client, "/login/mfa"),
        },
    )
    assert location(done) == "/"
    assert client.get("/audit").status_code == 200
    completed = [a for a in actions("user:setup_complete", "user:sign_in") if a[2] == str(person.id)]
    assert [a[0] for a in completed] == ["user:setup_complete", "user:sign_in"]


def test_a_phone_enrolled_with_the_password_alone_does_not_come_with_a_privileged_role(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """Whoever knew a member of staff's password signed in (staff need no set-up link) and enrolled their
    own phone. When a second administrator later approved the comms role, the enrolment stayed, no set-up
    link was sent, and the intruder signed in with the password and their own codes and revealed secrets.
    Now an approval that brings two-factor sign-in with it replaces an enrolment made before: the person
    sets it up again through the link sent to them."""
    channel = active_channel_with_secret(make_channel, make_user("comms"))
    person = make_user("staff")
    intruder = app.test_client()
    sign_in(intruder, person)
    assert intruder.get("/account/two-factor").status_code == 200
    pending = mfa.pending_enrolment(person)
    assert pending is not None
    turned_on = intruder.post(
        "/account/two-factor",
        data={
            "code": current_code(pending.secret),
            "csrf_token": csrf_token(intruder, "/account/two-factor"),
        },
    )
    assert turned_on.status_code == 200 and mfa.is_enrolled(person)
    TOTP_SECRETS[person.id] = pending.secret  # the intruder's phone

    first, second = browser_as("admin"), browser_as("admin")
    first.post(
        f"/admin/users/{person.id}/roles",
        {"roles": ["staff", "comms"], "reason": "Joins comms on Monday."},
    )
    [asked] = db.session().execute(select(AccountRequest).where(AccountRequest.user_id == person.id)).scalars()
    assert location(second.post(f"/admin/approvals/{asked.id}/approve")) == "/admin/approvals"

    db.session().expire_all()
    assert roles_of(person) == {"staff", "comms"}
    assert not mfa.is_enrolled(person)
    assert setup_links.open_link_for(person) is not None
    later = app.test_client()
    sign_in(later, person)  # the password alone now
    assert not can_reveal(Browser(later), channel)
    assert later.get("/account/two-factor").status_code == 403  # only through the link
    reset = [a for a in actions("user:two_factor_reset") if a[2] == str(person.id)]
    assert reset == [("user:two_factor_reset", second.user.id, str(person.id))]  # type: ignore[attr-defined]


def test_a_key_shown_before_the_set_up_link_is_not_the_one_the_person_confirms(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """The same intruder opened the two-factor page but confirmed nothing, so no enrolment was there to
    replace; they kept the key it showed. When the person, now in comms, set up two-factor sign-in through
    their link, the page showed that same waiting key, and the intruder's copy of it made the person's
    codes. Now using the link discards a key shown before it: the person is shown a new one."""
    person = make_user("staff")
    intruder = app.test_client()
    sign_in(intruder, person)
    planted = shown_key(intruder.get("/account/two-factor"))
    first, second = make_user("admin"), make_user("admin")
    change = approvals.change_roles(person, ["staff", "comms"], actor=first, reason="Joins comms on Monday.")
    assert change.request is not None
    approvals.approve(change.request, actor=second)
    db.session().commit()
    link = setup_links.open_link_for(person)
    assert link is not None

    owner = app.test_client()
    owner.get(link.path)
    done = owner.post(
        "/account/set-up",
        data={
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(owner, "/account/set-up"),
        },
    )
    assert location(done) == "/account/two-factor"
    key = shown_key(owner.get("/account/two-factor"))
    assert key != planted
    assert shown_key(owner.get("/account/two-factor")) == key  # a reload shows the same key, to finish with
    turned_on = owner.post(
        "/account/two-factor",
        data={
            "code": current_code(key),
            "csrf_token": csrf_token(owner, "/account/two-factor"),
        },
    )
    assert turned_on.status_code == 200 and mfa.is_enrolled(person)

    again = app.test_client()
    again.post(
        "/login",
        data={
            "email": person.email,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(again),
        },
    )
    tried = again.post(
        "/login/mfa",
        data={
            "code": current_code(planted),
            "csrf_token": csrf_token(again, "/login/mfa"),
        },
    )
    assert tried.status_code == 422


def test_an_additional_privileged_role_keeps_an_enrolment_made_under_the_privileged_rules(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """Someone who already needed two-factor sign-in (so set it up through a link) keeps it when given
    another privileged role: only an enrolment made without that rule is replaced."""
    person = make_user("auditor")
    first, second = make_user("admin"), make_user("admin")
    change = approvals.change_roles(person, ["auditor", "hr"], actor=first, reason="Covers HR cases too.")
    assert change.request is not None
    approvals.approve(change.request, actor=second)
    db.session().commit()
    assert roles_of(person) == {"auditor", "hr"}
    assert mfa.is_enrolled(person)
    assert setup_links.open_link_for(person) is None


def test_reactivating_a_leaver_does_not_give_back_a_privileged_role_without_a_second_administrator(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """A comms member left and was deactivated. One administrator reactivated them, and they could reveal
    secrets again at once: the comms role came back with nobody approving it. Now reactivation gives back
    the everyday roles; a privileged one is asked for again, and a second administrator approves it."""
    leaver = make_user("comms", "manager")
    channel = active_channel_with_secret(make_channel, leaver)
    admin = browser_as("admin")
    accounts.deactivate(leaver, actor=Actor.system("tests"))
    db.session().commit()

    back = admin.post(f"/admin/users/{leaver.id}/reactivate")

    assert location(back) == f"/admin/users/{leaver.id}"
    assert roles_of(leaver) == {"manager"}
    said = words(admin.get(location(back)))
    assert "can sign in again" in said and "Communications team" in said
    assert not can_reveal(browser_as(user=leaver), channel)
    assert [a[1] for a in actions("user:roles_change") if a[2] == str(leaver.id)][-1] == admin.user.id  # type: ignore[attr-defined]
    asked = admin.post(
        f"/admin/users/{leaver.id}/roles",
        {"roles": ["manager", "comms"], "reason": "Back from leave."},
    )
    assert location(asked) == f"/admin/users/{leaver.id}"
    assert roles_of(leaver) == {"manager"}  # waits for a second administrator


def test_reactivating_someone_with_only_privileged_roles_leaves_them_staff(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    admin = browser_as("admin")
    leaver = make_user("admin")
    accounts.deactivate(leaver, actor=Actor.system("tests"))
    db.session().commit()
    assert location(admin.post(f"/admin/users/{leaver.id}/reactivate")) == f"/admin/users/{leaver.id}"
    assert roles_of(leaver) == {"staff"}


def test_an_administrator_cannot_choose_their_own_line_manager(
    browser_as: Callable[..., Browser],
) -> None:
    """An administrator made a stand-in account with the line manager role (an everyday role: no second
    administrator) on an address they read, and recorded it as their own line manager: breach reports
    about them went to it, naming who reported them. Now nobody records their own line manager."""
    admin = browser_as("admin")
    me: User = admin.user  # type: ignore[attr-defined]
    made = admin.post(
        "/admin/users/new",
        {
            "name": "Stand In",
            "email": "stand.in@example.nhs.uk",
            "roles": ["staff", "manager"],
        },
    )
    assert location(made).startswith("/admin/users/")
    stand_in = accounts.find_user("stand.in@example.nhs.uk")
    assert stand_in is not None

    refused = admin.post(f"/admin/users/{me.id}/line-manager", {"manager-line_manager": str(stand_in.id)})

    assert refused.status_code == 403
    assert "Nobody records their own line manager" in words(refused)
    db.session().expire_all()
    assert db.session().get(User, me.id).line_manager_id is None  # type: ignore[union-attr]
    assert "Save line manager" not in words(admin.get(f"/admin/users/{me.id}"))


def test_an_administrator_cannot_make_themselves_someones_line_manager(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """An administrator who is also a line manager recorded themselves as anyone's line manager, and read
    the breach reports about that person from then on. Another administrator records it instead."""
    admin = browser_as("admin", "manager")
    me: User = admin.user  # type: ignore[attr-defined]
    person, other_admin = make_user("staff"), browser_as("admin")

    refused = admin.post(f"/admin/users/{person.id}/line-manager", {"manager-line_manager": str(me.id)})

    assert refused.status_code == 422
    assert "You cannot record yourself as someone's line manager" in words(refused)
    db.session().expire_all()
    assert db.session().get(User, person.id).line_manager_id is None  # type: ignore[union-attr]
    done = other_admin.post(f"/admin/users/{person.id}/line-manager", {"manager-line_manager": str(me.id)})
    assert location(done) == f"/admin/users/{person.id}"
    db.session().expire_all()
    assert db.session().get(User, person.id).line_manager_id == me.id  # type: ignore[union-attr]


def test_the_operators_permit_ends_with_the_first_two_factor_set_up(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """``users create`` lets the operator's account set up two-factor sign-in with its password for 24 hours.
    The permit outlived that set-up: after an approved two-factor reset within the day, whoever knew the
    password enrolled their own phone without the link the reset sends. Now the first set-up ends it."""
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "users",
            "create",
            "new.comms@example.nhs.uk",
            "--name",
            "New Comms",
            "--role",
            "comms",
            "--password-stdin",
        ],
        input=TEST_PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    person = accounts.find_user("new.comms@example.nhs.uk")
    assert person is not None
    owner = app.test_client()
    sign_in(owner, person)
    assert owner.get("/account/two-factor").status_code == 200
    pending = mfa.pending_enrolment(person)
    assert pending is not None
    owner.post(
        "/account/two-factor",
        data={
            "code": current_code(pending.secret),
            "csrf_token": csrf_token(owner, "/account/two-factor"),
        },
    )
    assert mfa.is_enrolled(person)
    first, second = make_user("admin"), make_user("admin")
    asked = approvals.reset_two_factor(person, actor=first, reason="Lost phone, identity checked.")
    assert asked is not None
    approvals.approve(asked, actor=second)
    db.session().commit()

    intruder = app.test_client()
    sign_in(intruder, person)
    assert intruder.get("/account/two-factor").status_code == 403
    db.session().expire_all()
    assert db.session().get(User, person.id).enrol_with_password_until is None  # type: ignore[union-attr]


def test_the_approval_pages_run_a_fixed_number_of_statements(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    count_queries: Callable[[], Any],
) -> None:
    """No N+1 on the new pages: the requests list and a user's page cost the same for 3 requests as for 30."""
    admin = browser_as("admin")
    person = make_user("staff")
    askers = [make_user("admin") for _ in range(2)]

    def add(count: int) -> None:
        for n in range(count):
            someone = make_user("staff")
            change = approvals.change_roles(someone, ["staff", "auditor"], actor=askers[n % 2], reason=f"Audit {n}.")
            assert change.request is not None
            if n % 3 == 0:
                approvals.reject(change.request, actor=askers[(n + 1) % 2], note="Not this year.")
        for n in range(count // 3):
            closed = approvals.change_roles(person, ["staff", "hr"], actor=askers[n % 2], reason=f"HR {n}.")
            assert closed.request is not None
            approvals.cancel(closed.request, actor=askers[n % 2])
        db.session().commit()

    def statements() -> dict[str, int]:
        counts = {}
        for path in ("/admin/approvals", f"/admin/users/{person.id}", "/admin/users"):
            assert admin.get(path).status_code == 200
            with count_queries() as counted:
                assert admin.get(path).status_code == 200
            counts[path] = counted.n
        return counts

    add(3)
    small = statements()
    add(27)
    assert db.session().execute(select(func.count()).select_from(AccountRequest)).scalar_one() >= 30
    assert statements() == small


def test_two_decisions_on_one_request_at_once_give_one(
    committed: CommittedSite,  # noqa: F811  (the fixture imported above)
) -> None:
    """A second administrator approves while the one who asked cancels, or a third approves too, at the
    same moment on a database that really commits: the later one waits for the first, then is refused."""
    app = committed.app()
    with app.app_context(), db.transaction():
        asker, first, third = (
            new_user("admin", email=f"{name}@example.nhs.uk") for name in ("asker", "first", "third")
        )
        people = [new_user("staff", email=f"person{n}@example.nhs.uk", two_factor=False) for n in range(2)]
        asked = [
            approvals.change_roles(person, ["staff", "auditor"], actor=asker, reason="Internal audit.").request
            for person in people
        ]
        ids = {"asker": asker.id, "first": first.id, "third": third.id}
        request_ids = [request.id for request in asked if request is not None]
    outcome: dict[str, str] = {}

    def decide(name: str, request_id: int, who: str) -> None:
        try:
            with app.app_context(), db.transaction():
                request = approvals.get(request_id)
                actor = db.session().get(User, ids[who])
                assert actor is not None
                if name == "cancel":
                    approvals.cancel(request, actor=actor)
                else:
                    approvals.approve(request, actor=actor)
            outcome[name] = "done"
        except (Conflict, NotPermitted) as exc:
            outcome[name] = str(exc)

    for request_id, (name, who) in zip(request_ids, (("cancel", "asker"), ("approve", "third")), strict=True):
        with app.app_context(), db.transaction():
            approvals.approve(approvals.get(request_id), actor=db.session().get(User, ids["first"]))  # type: ignore[arg-type]
            racer = threading.Thread(target=decide, args=(name, request_id, who))
            racer.start()
            racer.join(timeout=0.5)
        racer.join(timeout=30)

    assert outcome == {
        "cancel": "This request is no longer waiting: it is approved.",
        "approve": "This request is no longer waiting: it is approved.",
    }
    with app.app_context():
        decided = [approvals.get(request_id) for request_id in request_ids]
        assert [(r.status, r.decided_by_id) for r in decided] == [("approved", ids["first"])] * 2
        assert all(Role.AUDITOR in r.user.roles for r in decided)
