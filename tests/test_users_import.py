"""Importing users from a CSV file (issue 11, for Trusts without SCIM): the command line and the
administrators' page, both all or nothing, with every problem reported by row number."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask, request
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from registry import db, spreadsheets
from registry.audit.models import AuditAnchor, AuditEvent
from registry.audit.services import Actor
from registry.auth import importing, managers
from registry.auth import services as accounts
from registry.auth.models import AccountRequest, SetupLink, User
from registry.auth.permissions import Role
from registry.errors import Invalid
from registry.notifications.models import Notification
from tests.conftest import Browser
from tests.test_notifications import Inbox, smtp, smtp_app  # noqa: F401  (fixtures)

HEADER = "Email,Full name,Roles,Line manager email\n"


def invoke(app: Flask, *args: str) -> Result:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def write(tmp_path: Path, text: str | bytes, name: str = "staff.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def seq(connection: Connection) -> int:
    return connection.execute(select(AuditAnchor.seq)).scalar_one()


def user(email: str) -> User | None:
    db.session().expire_all()
    return accounts.find_user(email)


def user_count() -> int:
    return db.session().execute(select(func.count()).select_from(User)).scalar_one()


def actions_since(start: int) -> list[str]:
    return list(
        db.session().execute(select(AuditEvent.action).where(AuditEvent.seq > start).order_by(AuditEvent.seq)).scalars()
    )


TEAM = (
    HEADER
    + "ann.lee@example.nhs.uk,Ann Lee,staff,maya.ward@example.nhs.uk\n"  # her manager is further down the file
    + "Maya.Ward@Example.NHS.uk,Maya Ward,manager;comms,\n"
    + "raj.patel@example.nhs.uk,Raj Patel,,\n"
)


# --- the command line ----------------------------------------------------------------------------


def test_dry_run_reports_each_row_and_changes_nothing(app: Flask, connection: Connection, tmp_path: Path) -> None:
    before, people = seq(connection), user_count()

    result = invoke(app, "users", "import", write(tmp_path, TEAM), "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Row 2 ann.lee@example.nhs.uk: will be created (roles: Staff; line manager: maya.ward@example.nhs.uk)",
        "Row 3 maya.ward@example.nhs.uk: will be created (roles: Communications team, Line manager)",
        "Row 4 raj.patel@example.nhs.uk: will be created (roles: Staff)",
        "Dry run, nothing changed: 3 people: 3 created, 0 updated, 0 unchanged.",
    ]
    assert (seq(connection), user_count()) == (before, people)


def test_import_creates_everyone_and_a_second_run_changes_nothing(
    app: Flask, connection: Connection, tmp_path: Path
) -> None:
    path = write(tmp_path, TEAM)
    start = seq(connection)

    first = invoke(app, "users", "import", path)

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "Imported: 3 people: 3 created, 0 updated, 0 unchanged."
    ann, maya = user("ann.lee@example.nhs.uk"), user("maya.ward@example.nhs.uk")
    assert ann is not None and maya is not None
    assert ann.line_manager_id == maya.id
    assert maya.roles == {Role.MANAGER, Role.COMMS}  # the operator's command line grants at once, as users create does
    assert ann.password_hash is None and ann.name == "Ann Lee"
    assert actions_since(start) == [
        "user:create",
        "user:create",
        "user:create",
        "user:line_manager_change",
        "user:import",
    ]
    event = db.session().execute(select(AuditEvent).where(AuditEvent.action == "user:import")).scalar_one()
    assert (
        json.loads(event.details)["created"],
        json.loads(event.details)["updated"],
        json.loads(event.details)["unchanged"],
    ) == (3, 0, 0)
    assert json.loads(event.details)["source"] == "command line"
    # A new person is told nothing (they have not signed in yet), and no set-up link was sent.
    assert (
        db.session()
        .execute(select(func.count()).select_from(Notification).where(Notification.recipient_id == ann.id))
        .scalar_one()
        == 0
    )
    middle = seq(connection)

    second = invoke(app, "users", "import", path)

    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines() == [
        "Row 2 ann.lee@example.nhs.uk: unchanged",
        "Row 3 maya.ward@example.nhs.uk: unchanged",
        "Row 4 raj.patel@example.nhs.uk: unchanged",
        "Imported: 3 people: 0 created, 0 updated, 3 unchanged.",
    ]
    assert actions_since(middle) == ["user:import"]


def test_an_existing_user_is_brought_into_line_but_keeps_their_roles(
    app: Flask, connection: Connection, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    old_boss = make_user("manager", email="old.boss@example.nhs.uk")
    new_boss = make_user("manager", email="new.boss@example.nhs.uk")
    mover = make_user("staff", "auditor", email="mover@example.nhs.uk", name="Sam Old")
    managers.set_line_manager(mover, old_boss, actor=new_boss)
    db.session().commit()
    start = seq(connection)

    result = invoke(
        app,
        "users",
        "import",
        write(tmp_path, HEADER + "mover@example.nhs.uk,Sam New,staff;manager,new.boss@example.nhs.uk\n"),
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "Row 2 mover@example.nhs.uk: updated (name: Sam Old → Sam New; roles added: Line manager; line manager: "
        "old.boss@example.nhs.uk → new.boss@example.nhs.uk; keeps Auditor: an import never removes roles)"
    )
    moved = user("mover@example.nhs.uk")
    assert moved is not None
    assert (moved.name, moved.roles, moved.line_manager_id) == (
        "Sam New",
        {Role.STAFF, Role.MANAGER, Role.AUDITOR},
        new_boss.id,
    )
    assert actions_since(start) == ["user:rename", "user:roles_change", "user:line_manager_change", "user:import"]
    told = (
        db.session().execute(select(Notification.subject).where(Notification.recipient_id == moved.id)).scalars().all()
    )
    assert "Your line manager in the Registry changed" in told


def test_an_empty_line_manager_cell_clears_it_and_no_column_leaves_it(
    app: Flask, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    boss = make_user("manager", email="boss@example.nhs.uk")
    person = make_user("staff", email="person@example.nhs.uk", name="Pat Person")
    managers.set_line_manager(person, boss, actor=make_user("admin"))
    db.session().commit()

    kept = invoke(app, "users", "import", write(tmp_path, "email,name\nperson@example.nhs.uk,Pat Person\n"))
    assert kept.stdout.splitlines()[0] == "Row 2 person@example.nhs.uk: unchanged"

    cleared = invoke(app, "users", "import", write(tmp_path, HEADER + "person@example.nhs.uk,Pat Person,,\n"))
    assert cleared.stdout.splitlines()[0] == (
        "Row 2 person@example.nhs.uk: updated (line manager: boss@example.nhs.uk → none)"
    )
    assert user("person@example.nhs.uk").line_manager_id is None  # type: ignore[union-attr]


def test_every_problem_of_every_row_is_reported_and_nothing_is_imported(
    app: Flask, connection: Connection, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    make_user("staff", email="not.a.manager@example.nhs.uk")
    leaver = make_user("manager", email="leaver@example.nhs.uk")
    accounts.deactivate(leaver, actor=make_user("admin"))
    db.session().commit()
    text = (
        HEADER
        + "good.person@example.nhs.uk,Good Person,staff,\n"  # row 2: fine, but not imported
        + "not an email,,wizard;staff;boss,\n"  # row 3: three problems
        + "self@example.nhs.uk,Self Managed,manager,self@example.nhs.uk\n"  # row 4
        + "good.person@example.nhs.uk,Again,,\n"  # row 5: twice in the file
        + "x@example.nhs.uk,X,,nobody@example.nhs.uk\n"  # row 6: unknown manager
        + "y@example.nhs.uk,Y,,not.a.manager@example.nhs.uk\n"  # row 7: manager lacks the role
        + "leaver@example.nhs.uk,Leaver,,\n"  # row 8: deactivated
        + "z@example.nhs.uk,Z,,leaver@example.nhs.uk\n"  # row 9: deactivated manager
        + "\n"  # row 10: blank, skipped
        + f"w@example.nhs.uk,{'W' * 201},,\n"  # row 11: name too long
        + "v@example.nhs.uk,V,,not-an-address\n"  # row 12: manager address invalid
        + "u@example.nhs.uk,U,,,surprise\n"  # row 13: a cell beyond the header
    )
    before, people = seq(connection), user_count()

    result = invoke(app, "users", "import", write(tmp_path, text))

    assert result.exit_code == 1
    out = result.stdout
    assert "Row 2 good.person@example.nhs.uk: will be created (roles: Staff)" in out
    assert (
        "Row 3 not an email: problem:\n"
        "  - Email 'not an email': Enter an email address in the correct format, like name@example.nhs.uk.\n"
        "  - Name: enter the person's full name.\n"
        "  - Roles: 'wizard' is not a role. Choose from staff, manager, comms, auditor, admin, hr, on-call.\n"
        "  - Roles: 'boss' is not a role. Choose from staff, manager, comms, auditor, admin, hr, on-call.\n"
    ) in out
    assert (
        "Row 4 self@example.nhs.uk: problem:\n  - Line manager email: a person cannot be their own line manager." in out
    )
    assert (
        "Row 5 good.person@example.nhs.uk: problem:\n  - good.person@example.nhs.uk is also on row 2: list each "
        "person once." in out
    )
    assert (
        "Row 6 x@example.nhs.uk: problem:\n  - Line manager email: there is no user nobody@example.nhs.uk, and "
        "nobody in the file has that address." in out
    )
    assert (
        "Row 7 y@example.nhs.uk: problem:\n  - Line manager email: not.a.manager@example.nhs.uk does not have the "
        "line manager role" in out
    )
    assert (
        "Row 8 leaver@example.nhs.uk: problem:\n  - leaver@example.nhs.uk is deactivated: an import never brings a "
        "leaver back." in out
    )
    assert (
        "Row 9 z@example.nhs.uk: problem:\n  - Line manager email: " in out
        and "(leaver@example.nhs.uk) is deactivated." in out
    )
    assert "Row 10" not in out
    assert "Row 11 w@example.nhs.uk: problem:\n  - Name: the name must be 200 characters or fewer." in out
    assert "Row 12 v@example.nhs.uk: problem:\n  - Line manager email 'not-an-address': Enter an email address" in out
    assert "Row 13 u@example.nhs.uk: problem:\n  - has more cells than the first row names ('surprise')." in out
    assert (
        result.stderr.strip() == "Not imported: 13 problems: nothing was changed. Correct the file and import it again."
    )
    assert (seq(connection), user_count()) == (before, people)
    assert user("good.person@example.nhs.uk") is None


def test_nobody_may_manage_their_own_manager(app: Flask, tmp_path: Path, make_user: Callable[..., User]) -> None:
    top = make_user("manager", email="top@example.nhs.uk", name="Top")
    middle = make_user("manager", email="middle@example.nhs.uk", name="Middle")
    managers.set_line_manager(middle, top, actor=make_user("admin"))
    db.session().commit()
    text = (
        HEADER
        + "a@example.nhs.uk,Ann,manager,b@example.nhs.uk\n"
        + "b@example.nhs.uk,Bea,manager,a@example.nhs.uk\n"
        + "top@example.nhs.uk,Top,manager,middle@example.nhs.uk\n"
    )

    result = invoke(app, "users", "import", write(tmp_path, text))

    assert result.exit_code == 1
    assert (
        "Row 2 a@example.nhs.uk: problem:\n  - Line manager email: Ann would be b@example.nhs.uk's line manager, so "
        "b@example.nhs.uk cannot be theirs." in result.stdout
    )
    assert (
        "Row 3 b@example.nhs.uk: problem:\n  - Line manager email: Bea would be a@example.nhs.uk's line manager, so"
        in result.stdout
    )
    assert (
        "Row 4 top@example.nhs.uk: problem:\n  - Line manager email: Top would be middle@example.nhs.uk's line manager"
        in result.stdout
    )


def test_two_people_may_swap_places(app: Flask, tmp_path: Path, make_user: Callable[..., User]) -> None:
    """Legal once both rows are in, though a loop half way: the file is checked as a whole."""
    senior = make_user("manager", email="senior@example.nhs.uk", name="Senior")
    junior = make_user("manager", email="junior@example.nhs.uk", name="Junior")
    managers.set_line_manager(junior, senior, actor=make_user("admin"))
    db.session().commit()
    text = (
        HEADER + "senior@example.nhs.uk,Senior,manager,junior@example.nhs.uk\njunior@example.nhs.uk,Junior,manager,\n"
    )

    result = invoke(app, "users", "import", write(tmp_path, text))

    assert result.exit_code == 0, result.output
    assert (user("senior@example.nhs.uk").line_manager_id, user("junior@example.nhs.uk").line_manager_id) == (
        junior.id,
        None,
    )  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "Naïve,Name\n".encode("cp1252"),
            "File: The file is not UTF-8 text. In Excel, choose File, Save as, 'CSV UTF-8 (Comma delimited)', and "
            "import that. Line 1 has a character that is not UTF-8.",
        ),
        (
            "email,name\n".encode("utf-16"),
            "File: The file is not UTF-8 text. In Excel, choose File, Save as, 'CSV UTF-8 (Comma delimited)', and "
            "import that. It is UTF-16 (Excel's 'Unicode text').",
        ),
        (b"", "File: The file is empty."),
        (b"email,name\n", "File: The file names its columns but has nobody in it."),
        (
            b"name,roles\nAnn,staff\n",
            "File: Row 1: there is no email column. The first row must name the columns: email, name, roles, line "
            "manager email.",
        ),
        (
            b"email,E-mail address,name\n",
            "File: Row 1: the columns 'email' and 'E-mail address' are the same column: keep one.",
        ),
        (b'email,name\n"a@example.nhs.uk,Ann\n', "File: Line 2: the file is not valid CSV (unexpected end of data)."),
        (
            b"email,name\na@example.nhs.uk,A\x00nn\n",
            "File: The file contains a NUL character: it is not a CSV text file.",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_plainly(
    app: Flask, tmp_path: Path, content: bytes, message: str
) -> None:
    result = invoke(app, "users", "import", write(tmp_path, content))

    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == message
    assert result.stderr.startswith("Not imported: 1 problem: nothing was changed.")


def test_utf8_with_a_byte_order_mark_and_forgiving_headers(app: Flask, tmp_path: Path) -> None:
    text = (
        "\ufeffE-MAIL, Full_Name ,ROLE,line_manager_email,Assignment Number\n"
        "zoë@example.nhs.uk,Zoë Brontë,Staff,,12345\n"
    )

    result = invoke(app, "users", "import", write(tmp_path, text.encode("utf-8")))

    assert result.exit_code == 0, result.output
    assert (
        result.stdout.splitlines()[0]
        == "Columns ignored (not email, name, roles or line manager email): Assignment Number"
    )
    assert user("zoë@example.nhs.uk").name == "Zoë Brontë"  # type: ignore[union-attr]


def test_size_and_row_limits(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = invoke(app, "users", "import", write(tmp_path, b"email,name\n" + b"x" * importing.MAX_BYTES))
    assert big.exit_code == 1
    assert "the most one import takes is 2 MB" in big.stderr

    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 2)
    many = invoke(
        app, "users", "import", write(tmp_path, "email,name\n" + "".join(f"p{n}@example.nhs.uk,P\n" for n in range(3)))
    )
    assert many.exit_code == 1
    assert (
        many.stdout.splitlines()[0]
        == "File: The file has more than 2 people: the most one import takes. Split it into smaller files."
    )


def test_cells_echoed_cannot_rewrite_the_terminal() -> None:
    assert importing.echo("evil\x1b[2Jname") == "evil\N{REPLACEMENT CHARACTER}[2Jname"
    assert importing.echo("x" * 100) == "x" * 79 + "…"


def test_set_up_links_need_an_email_server(app: Flask, tmp_path: Path) -> None:
    result = invoke(app, "users", "import", write(tmp_path, TEAM), "--send-setup-links")

    assert result.exit_code == 1
    assert "this Registry has no e-mail server" in result.stderr
    assert user("ann.lee@example.nhs.uk") is None


# --- the administrators' page ------------------------------------------------------------------


def upload(browser: Browser, text: str | bytes, name: str = "staff.csv"):  # type: ignore[no-untyped-def]
    data = text.encode() if isinstance(text, str) else text
    return browser.post("/admin/users/import", data={"file": (io.BytesIO(data), name)})


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
    assert match is not None, f"no hidden {name}"
    return html.unescape(match.group(1))


def confirm(browser: Browser, page: str, **extra: str):  # type: ignore[no-untyped-def]
    return browser.post(
        "/admin/users/import/confirm", data={"csv": hidden(page, "csv"), "token": hidden(page, "token"), **extra}
    )


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text with its markup's runs of white space made single spaces."""
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def test_the_users_page_links_to_the_import(browser_as: Callable[..., Browser]) -> None:
    admin = browser_as("admin")

    assert 'href="/admin/users/import"' in admin.get("/admin/users").get_data(as_text=True)
    page = text_of(admin.get("/admin/users/import"))
    assert "<h1>Import users from a CSV file</h1>" in page
    assert '<label class="nhsuk-label nhsuk-label--s" for="file" > CSV file </label>' in page


def test_preview_then_confirm(
    browser_as: Callable[..., Browser], connection: Connection, make_user: Callable[..., User]
) -> None:
    admin = browser_as("admin")
    make_user("manager", email="maya.ward@example.nhs.uk", name="Maya Ward")
    text = (
        HEADER
        + "ann.lee@example.nhs.uk,Ann Lee,staff,maya.ward@example.nhs.uk\nmaya.ward@example.nhs.uk,Maya Ward,manager,\n"
    )
    before = seq(connection)

    preview = upload(admin, text)

    assert preview.status_code == 200
    page = text_of(preview)
    assert (
        '<caption class="nhsuk-table__caption nhsuk-table__caption--s">What each row of staff.csv will do</caption>'
        in page
    )
    assert "1 to create, 0 to update, 1 unchanged" in page
    assert "roles: Staff; line manager: maya.ward@example.nhs.uk" in page
    assert seq(connection) == before and user("ann.lee@example.nhs.uk") is None

    done = confirm(admin, page)

    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/users")
    ann = user("ann.lee@example.nhs.uk")
    assert ann is not None and ann.line_manager is not None and ann.line_manager.email == "maya.ward@example.nhs.uk"
    assert "Imported: 2 people: 1 created, 0 updated, 1 unchanged." in text_of(admin.get("/admin/users"))
    event = db.session().execute(select(AuditEvent).where(AuditEvent.action == "user:import")).scalar_one()
    assert (json.loads(event.details)["source"], event.actor_id) == ("page", admin.user.id)  # type: ignore[attr-defined]


def test_a_file_with_problems_shows_them_all_and_cannot_be_confirmed(browser_as: Callable[..., Browser]) -> None:
    admin = browser_as("admin")

    preview = upload(admin, HEADER + "fine@example.nhs.uk,Fine,,\nbroken,,,\n")

    assert preview.status_code == 422
    page = text_of(preview)
    assert "There are 2 problems with the file: nothing has been imported" in page
    assert '<a href="#row-3" > Row 3: Name: enter the person\'s full name. </a>' in page
    assert 'id="row-3"' in page
    assert 'name="token"' not in page  # nothing to confirm


def test_an_upload_without_a_file_is_refused(browser_as: Callable[..., Browser]) -> None:
    admin = browser_as("admin")

    response = admin.post("/admin/users/import", data={})

    assert response.status_code == 422
    assert '<a href="#file" > Select a CSV file </a>' in text_of(response)


def test_a_tampered_confirmation_is_refused(
    browser_as: Callable[..., Browser], connection: Connection, app: Flask, make_user: Callable[..., User]
) -> None:
    admin = browser_as("admin")
    page = text_of(upload(admin, HEADER + "ann.lee@example.nhs.uk,Ann Lee,staff,\n"))
    other_admin = browser_as("admin")
    before = seq(connection)

    altered = base64.b64encode((HEADER + "ann.lee@example.nhs.uk,Ann Lee,admin,\n").encode()).decode()
    changed = admin.post("/admin/users/import/confirm", data={"csv": altered, "token": hidden(page, "token")})
    forged = admin.post("/admin/users/import/confirm", data={"csv": hidden(page, "csv"), "token": "forged"})
    garbled = admin.post("/admin/users/import/confirm", data={"csv": "%%%", "token": hidden(page, "token")})
    someone_elses = confirm(other_admin, page)

    for response in (changed, forged, garbled, someone_elses):
        assert response.status_code == 400
        assert (
            "This confirmation is not the one the preview gave, or it is over an hour old. Nothing was changed: "
            "upload the file again." in text_of(response)
        )
    assert seq(connection) == before and user("ann.lee@example.nhs.uk") is None


def test_a_change_since_the_preview_shows_a_new_preview(
    browser_as: Callable[..., Browser], connection: Connection, make_user: Callable[..., User]
) -> None:
    admin = browser_as("admin")
    page = text_of(upload(admin, HEADER + "ann.lee@example.nhs.uk,Ann Lee,staff,\n"))
    make_user("staff", email="ann.lee@example.nhs.uk", name="Ann Lee")  # someone else added her meanwhile
    before = seq(connection)

    response = confirm(admin, page)

    assert response.status_code == 409
    assert "Something changed since your preview" in text_of(response)
    assert "0 to create, 0 to update, 1 unchanged" in text_of(response)
    assert seq(connection) == before


def test_privileged_roles_wait_for_a_second_administrator(
    browser_as: Callable[..., Browser], app: Flask, make_user: Callable[..., User]
) -> None:
    admin = browser_as("admin")
    existing = make_user("staff", email="existing@example.nhs.uk", name="Existing")
    text = HEADER + "new.comms@example.nhs.uk,New Comms,comms,\nexisting@example.nhs.uk,Existing,staff;auditor,\n"
    page = text_of(upload(admin, text))
    assert "asks a second administrator for: Communications team" in page
    assert "asks a second administrator for: Auditor" in page

    without_reason = confirm(admin, page)
    assert without_reason.status_code == 422
    assert "Say why these people need the Auditor and Communications team role" in text_of(without_reason)
    assert user("new.comms@example.nhs.uk") is None

    done = confirm(admin, page, reason="The new communications officer, and internal audit's analyst.")

    assert done.status_code == 302
    created = user("new.comms@example.nhs.uk")
    assert created is not None and created.roles == {Role.STAFF}
    assert user("existing@example.nhs.uk").roles == {Role.STAFF}  # type: ignore[union-attr]
    asked = db.session().execute(select(AccountRequest).order_by(AccountRequest.id)).scalars().all()
    assert [(r.user_id, r.roles, r.requested_by_id) for r in asked] == [
        (created.id, "comms", admin.user.id),  # type: ignore[attr-defined]
        (existing.id, "auditor", admin.user.id),  # type: ignore[attr-defined]
    ]
    # The same file again: the roles already wait, so nothing changes.
    again = text_of(upload(admin, text))
    assert "0 to create, 0 to update, 2 unchanged" in again
    assert f"Communications team already waits for a second administrator ({asked[0].reference})" in again
    # A second administrator approves: then the role is theirs.
    second = browser_as("admin")
    assert second.post(f"/admin/approvals/{asked[0].id}/approve").status_code == 302
    assert user("new.comms@example.nhs.uk").roles == {Role.STAFF, Role.COMMS}  # type: ignore[union-attr]


def test_an_administrator_cannot_import_changes_to_themselves(browser_as: Callable[..., Browser]) -> None:
    admin = browser_as("admin")
    me = admin.user  # type: ignore[attr-defined]
    text = HEADER + f"{me.email},{me.name},admin;manager,\nreport@example.nhs.uk,Report,,{me.email}\n"

    page = text_of(upload(admin, text))

    assert "This is you: nobody changes their own roles. Ask another system administrator." in page
    assert "you cannot record yourself as someone's line manager" in page


def test_only_administrators_may_import(browser_as: Callable[..., Browser]) -> None:
    comms = browser_as("comms")

    assert comms.get("/admin/users/import").status_code == 403
    assert upload(comms, TEAM).status_code == 403


def test_the_upload_is_held_in_memory_never_in_a_temporary_file(app: Flask) -> None:
    with app.test_request_context("/admin/users/import", method="POST"):
        assert isinstance(request._get_file_stream(10 * 1024 * 1024, "text/csv", "staff.csv"), io.BytesIO)
        assert request.max_content_length is None or request.max_content_length > importing.MAX_BYTES
    with app.test_request_context("/breaches/new", method="POST"):
        assert not isinstance(request._get_file_stream(10 * 1024 * 1024, "image/png", "x.png"), io.BytesIO)


def test_more_problems_a_row_can_have(app: Flask, tmp_path: Path, make_user: Callable[..., User]) -> None:
    """An empty email cell; a header cell left empty (ignored); a file too big, however it arrives."""
    result = invoke(app, "users", "import", write(tmp_path, "email,,name\n,,Nobody\n"))

    assert result.stdout.splitlines()[:2] == ["Row 2 (no email): problem:", "  - Email: enter an email address."]
    with pytest.raises(importing.Invalid, match="the most one import takes is 2.0 MB"):
        importing.decode(b"x" * (importing.MAX_BYTES + 1))


def test_page_refusals_about_oneself_and_waiting_requests(
    browser_as: Callable[..., Browser], make_user: Callable[..., User]
) -> None:
    admin = browser_as("admin")
    me = admin.user  # type: ignore[attr-defined]
    boss = make_user("manager", email="boss@example.nhs.uk")
    waiting = make_user("staff", email="waiting@example.nhs.uk", name="Wendy Waiting")
    first = browser_as("admin")
    assert (
        first.post(
            f"/admin/users/{waiting.id}/roles", data={"roles": ["staff", "hr"], "reason": "Joins the HR team."}
        ).status_code
        == 302
    )
    text = HEADER + f"{me.email},{me.name},,{boss.email}\nwaiting@example.nhs.uk,Wendy Waiting,auditor,\n"

    page = text_of(upload(admin, text))

    assert "This is you: nobody records their own line manager. Ask another system administrator." in page
    assert (
        f"{first.user.name} already asked for the Human resources role for this person"  # type: ignore[attr-defined]
        in page
    )


def test_a_reason_too_long_is_refused_on_the_preview(browser_as: Callable[..., Browser]) -> None:
    admin = browser_as("admin")
    page = text_of(upload(admin, HEADER + "new.hr@example.nhs.uk,New HR,hr,\n"))

    response = confirm(admin, page, reason="x" * 1001)

    assert response.status_code == 422
    assert user("new.hr@example.nhs.uk") is None


def test_set_up_links_are_sent_only_when_asked(
    smtp_app: tuple[Flask, Inbox],  # noqa: F811  (the fixture imported above)
    browser_as: Callable[..., Browser],
    tmp_path: Path,
) -> None:
    app, _inbox = smtp_app
    admin = browser_as("admin")
    page = text_of(upload(admin, HEADER + "joiner@example.nhs.uk,Jo Iner,,\n"))
    assert "E-mail each new person a set-up link to choose a password" in page

    done = confirm(admin, page, send_setup_links="y")

    assert done.status_code == 302
    assert "1 set-up link e-mailed." in text_of(admin.get("/admin/users"))
    joiner = user("joiner@example.nhs.uk")
    assert joiner is not None
    links = db.session().execute(select(func.count()).select_from(SetupLink).where(SetupLink.user_id == joiner.id))
    assert links.scalar_one() == 1

    result = invoke(
        app, "users", "import", write(tmp_path, "email,name\nsecond@example.nhs.uk,Sec Ond\n"), "--send-setup-links"
    )
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.splitlines()[-1]
        == "Imported: 1 person: 1 created, 0 updated, 0 unchanged. 1 set-up links e-mailed."
    )


def test_a_long_chain_of_line_managers_with_a_loop_at_its_end_is_found(app: Flask, tmp_path: Path) -> None:
    """Every row of a loop is named; the rows leading into it are not (each chain is walked once)."""
    rows = [f"p{n}@example.nhs.uk,Person {n},manager,p{n + 1}@example.nhs.uk\n" for n in range(400)]
    rows.append("p400@example.nhs.uk,Person 400,manager,p398@example.nhs.uk\n")  # 398 → 399 → 400 → 398
    result = invoke(app, "users", "import", "--dry-run", write(tmp_path, HEADER + "".join(rows)))
    assert result.exit_code == 1
    named = [line for line in result.stdout.splitlines() if "line manager" in line and "cannot be theirs" in line]
    assert len(named) == 3
    assert "Person 400 would be p398@example.nhs.uk's line manager further up" in result.stdout
    assert "Person 399 would be p400@example.nhs.uk's line manager further up" in result.stdout


def test_a_name_that_could_rewrite_what_a_screen_shows_is_refused(app: Flask, tmp_path: Path) -> None:
    text = HEADER + "eve@example.nhs.uk,Eve \u202eniamdA,staff,\n" + "tab@example.nhs.uk,Tab\x1b[2JBy,staff,\n"
    result = invoke(app, "users", "import", write(tmp_path, text))
    assert result.exit_code == 1
    assert result.stdout.count("Name: the name contains a control or text-direction character") == 2
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert user("eve@example.nhs.uk") is None
    with pytest.raises(Invalid) as refused:
        accounts.create_user(
            email="eve@example.nhs.uk", name="Eve\u202e", roles=["staff"], password=None, actor=Actor.system("tests")
        )
    assert refused.value.errors == {
        "name": "The name contains a control or text-direction character: type it again without one."
    }
