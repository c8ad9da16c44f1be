"""Importing the Trust's existing inventory of accounts (issue 13): the command line and the
communications team's page, both all or nothing, with each row's verdict by row number."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from registry import clock, db, spreadsheets
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.channels import importing
from registry.channels.models import Channel, ChannelTransition
from registry.channels.registration import REVIEW_INTERVAL
from registry.monitoring import services as monitoring
from registry.monitoring.models import UnauthorisedAccount
from registry.roster.models import RosterGrant
from tests import test_users_import as users_import
from tests.conftest import Browser
from tests.test_users_import import actions_since, hidden, invoke, seq, text_of

HEADER = "Platform,URL or handle,Display name,Department,Purpose,Audience,Sponsor,Administrators,Next review date\n"
ROW = "{platform},{url},{name},Maternity,News for parents,Parents,{sponsor},{admins},{review}\n"


def write(tmp_path: Path, content: str | bytes, name: str = "inventory.csv") -> str:
    return users_import.write(tmp_path, content, name)


def count(model: type) -> int:
    return db.session().execute(select(func.count()).select_from(model)).scalar_one()


def row(
    url: str,
    *,
    platform: str = "",
    name: str = "Maternity news",
    sponsor: str = "",
    admins: str = "",
    review: str = "",
) -> str:
    return ROW.format(platform=platform, url=url, name=name, sponsor=sponsor, admins=admins, review=review)


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "sponsor": make_user("manager", email="sam.sponsor@example.nhs.uk", name="Sam Sponsor"),
        "admin": make_user("staff", email="ada.admin@example.nhs.uk", name="Ada Admin"),
        "editor": make_user("staff", email="ed.editor@example.nhs.uk", name="Ed Editor"),
    }


def inventory(people: dict[str, User]) -> str:
    sponsor = people["sponsor"].email
    return (
        HEADER
        + row(
            "https://x.com/LeedsMaternity",
            sponsor=sponsor,
            admins=f"{people['admin'].email}; Ed Editor <{people['editor'].email}> (editor)",
            review="31/03/2027",
        )
        + row("@leedsmaternity", platform="Instagram", name="Maternity photos", sponsor=sponsor, review="2027-06-30")
    )


# --- the command line ----------------------------------------------------------------------------


def test_dry_run_reports_each_row_and_changes_nothing(
    app: Flask, connection: Connection, tmp_path: Path, people: dict[str, User]
) -> None:
    before = (seq(connection), count(Channel))

    result = invoke(app, "channels", "import", write(tmp_path, inventory(people)), "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Row 2 https://x.com/LeedsMaternity: will be created",
        "Row 3 @leedsmaternity: will be created",
        "Dry run, nothing changed: 2 accounts: 2 created, 0 recorded as unofficial, 0 already in the registry.",
    ]
    assert (seq(connection), count(Channel)) == before


def test_import_creates_active_channels_and_a_second_run_creates_nothing(
    app: Flask, connection: Connection, tmp_path: Path, people: dict[str, User]
) -> None:
    path = write(tmp_path, inventory(people))
    start = seq(connection)

    first = invoke(app, "channels", "import", path)

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == (
        "Imported: 2 accounts: 2 created, 0 recorded as unofficial, 0 already in the registry."
    )
    db.session().expire_all()
    x, instagram = db.session().execute(select(Channel).order_by(Channel.id)).scalars().all()[-2:]
    assert (x.platform, x.handle, x.status, x.next_review_on) == ("x", "leedsmaternity", "active", dt.date(2027, 3, 31))
    assert (instagram.platform, instagram.handle, instagram.next_review_on) == (
        "instagram",
        "leedsmaternity",
        dt.date(2027, 6, 30),
    )
    assert x.requester_id == people["sponsor"].id and x.sponsor == "Sam Sponsor"
    step = db.session().execute(select(ChannelTransition).where(ChannelTransition.channel_id == x.id)).scalar_one()
    assert (step.action, step.from_status, step.to_status) == ("import", None, "active")
    assert step.note is not None and step.note.startswith("Imported from inventory.csv row 2 by command line (")
    assert step.action_label == "Imported from the inventory"
    grants = db.session().execute(select(RosterGrant).where(RosterGrant.channel_id == x.id)).unique().scalars().all()
    assert sorted((g.email, g.platform_role, g.granted_by_id) for g in grants) == [
        ("ada.admin@example.nhs.uk", "admin", None),
        ("ed.editor@example.nhs.uk", "editor", None),
    ]
    assert actions_since(start) == ["channel:import", "roster:grant", "roster:grant", "channel:import"]
    event = (
        db.session()
        .execute(select(AuditEvent).where(AuditEvent.action == "channel:import").order_by(AuditEvent.seq))
        .scalars()
        .first()
    )
    assert event is not None and event.object_id == x.reference
    assert json.loads(event.details)["next_review_on"] == "2027-03-31"
    # Active at once, with no approval: the trail says so rather than leaving it to be inferred.
    assert json.loads(event.details)["approval"].startswith("none: an account the Trust already runs")
    assert event.actor_id is None and event.actor.startswith("command line")
    middle, channels = seq(connection), count(Channel)

    second = invoke(app, "channels", "import", path)

    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines() == [
        f"Row 2 https://x.com/LeedsMaternity: already in the registry ({x.reference}, active)",
        f"Row 3 @leedsmaternity: already in the registry ({instagram.reference}, active)",
        "Imported: 2 accounts: 0 created, 0 recorded as unofficial, 2 already in the registry.",
    ]
    assert (seq(connection), count(Channel)) == (middle, channels)


def test_review_date_defaults_to_the_review_period(app: Flask, tmp_path: Path, people: dict[str, User]) -> None:
    path = write(tmp_path, HEADER + row("https://x.com/LeedsPharmacy", sponsor=people["sponsor"].email))

    assert invoke(app, "channels", "import", path).exit_code == 0

    channel = db.session().execute(select(Channel).where(Channel.handle == "leedspharmacy")).scalar_one()
    assert channel.next_review_on == clock.today() + REVIEW_INTERVAL


def test_each_refusal_is_reported_by_row_and_nothing_is_written(
    app: Flask,
    connection: Connection,
    tmp_path: Path,
    people: dict[str, User],
    make_channel: Callable[..., Channel],
) -> None:
    official = make_channel("active", platform="x", handle="LeedsHospitals")
    sponsor = people["sponsor"].email
    content = (
        HEADER
        + row("https://x.com/LeedsRadiology", sponsor=sponsor)  # fine on its own
        + row("https://x.com/LeedsRadiology", sponsor=sponsor)  # the same again
        + row("https://x.com/home", sponsor=sponsor)  # the normaliser refuses it
        + row("https://x.com/LeedsHospita1s", sponsor=sponsor)  # imitates the official one
        + row("https://x.com/LeedsCardiology", name="", sponsor=sponsor)  # no display name
        + row("https://x.com/LeedsRenal", sponsor="nobody@example.nhs.uk")
        + row("https://x.com/LeedsDerm", sponsor=sponsor, admins="not an address")
        + row("https://x.com/LeedsEyes", sponsor=sponsor, review="31/02/2027")
        + row("LeedsNoPlatform", sponsor=sponsor)
    )
    before = (seq(connection), count(Channel))

    result = invoke(app, "channels", "import", write(tmp_path, content))

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "Row 2 https://x.com/LeedsRadiology: will be created"
    assert lines[1:3] == [
        "Row 3 https://x.com/LeedsRadiology: problem:",
        "  - The same account is also on row 2: list each account once.",
    ]
    assert lines[3] == "Row 4 https://x.com/home: problem:"
    assert lines[4].startswith("  - URL or handle 'https://x.com/home': ")
    assert lines[5:7] == [
        "Row 5 https://x.com/LeedsHospita1s: problem:",
        f"  - Looks like {official.reference} (leedshospitals), an official channel of the Trust. If it is the "
        "Trust's too, ask for it as a new channel; if not, import it as unofficial (official: no).",
    ]
    assert "  - Display name: Enter the name the account will show." in lines
    assert (
        "  - Sponsor: there is no user nobody@example.nhs.uk. Add them to the Registry first, or name someone who is."
        in lines
    )
    assert any(line.startswith("  - Administrators 'not an address': write each person") for line in lines)
    assert "  - Next review date '31/02/2027': there is no such date." in lines
    assert lines[-2:] == [
        "Row 10 LeedsNoPlatform: problem:",
        "  - URL or handle 'LeedsNoPlatform': That is not a web address. Paste the full address of the account's "
        "page, such as https://x.com/NHSTrust. Or name the platform in the platform column.",
    ]
    assert result.stderr.strip() == (
        "Not imported: 8 problems: nothing was changed. Correct the file and import it again."
    )
    assert (seq(connection), count(Channel)) == before
    dry = invoke(app, "channels", "import", write(tmp_path, content), "--dry-run")
    assert dry.exit_code == 1 and dry.stderr.startswith("Dry run: 8 problems")


def test_unofficial_accounts_become_monitoring_findings(
    app: Flask, connection: Connection, tmp_path: Path, people: dict[str, User]
) -> None:
    content = (
        "URL,Official,Evidence,Sponsor\n"
        f"https://www.facebook.com/LeedsMaternityFans,no,Uses the Trust's logo,{people['sponsor'].email}\n"
        f"https://www.facebook.com/LeedsMaternityOld,No,,{people['sponsor'].email}\n"
    )
    refused = invoke(app, "channels", "import", write(tmp_path, content))
    assert refused.exit_code == 1
    assert (
        "  - Evidence: describe why it looks like a Trust account (name, logo, what it posts)."
        in refused.stdout.splitlines()
    )
    content = content.replace(",No,,", ",No,An old page nobody runs,")
    start = seq(connection)

    result = invoke(app, "channels", "import", write(tmp_path, content))

    assert result.exit_code == 0, result.output
    findings = db.session().execute(select(UnauthorisedAccount).order_by(UnauthorisedAccount.id)).unique().scalars()
    assert [(f.platform, f.handle, f.status, f.found_by_id) for f in findings] == [
        ("facebook", "leedsmaternityfans", "unauthorised", people["sponsor"].id),
        ("facebook", "leedsmaternityold", "unauthorised", people["sponsor"].id),
    ]
    assert actions_since(start) == ["unauthorised_account:record", "unauthorised_account:record"]

    again = invoke(app, "channels", "import", write(tmp_path, content))
    assert again.exit_code == 0
    assert again.stdout.splitlines()[0].startswith(
        "Row 2 https://www.facebook.com/LeedsMaternityFans: already in the registry (followed up by monitoring as UA-"
    )


def test_xlsx_is_read_like_csv(app: Flask, tmp_path: Path, people: dict[str, User]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Platform", "URL", "Display name", "Department", "Purpose", "Audience", "Sponsor", "Next review"])
    sheet.append(
        [
            "YouTube",
            "https://www.youtube.com/@LeedsMaternity",
            "Maternity videos",
            "Maternity",
            "Videos for parents",
            "Parents",
            people["sponsor"].email,
            dt.datetime(2027, 9, 1),
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)

    result = invoke(app, "channels", "import", write(tmp_path, buffer.getvalue(), "inventory.xlsx"))

    assert result.exit_code == 0, result.output
    channel = db.session().execute(select(Channel).where(Channel.platform == "youtube")).scalar_one()
    assert (channel.handle, channel.next_review_on) == ("@leedsmaternity", dt.date(2027, 9, 1))


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "File: The file is empty."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "File: The file is an old Excel 97-2003 workbook"),
        (_zip({"xl/workbook.xml": b"<x/>", "xl/vbaProject.bin": b"x"}), "File: The workbook contains macros"),
        (_zip({"word/document.xml": b"<x/>"}), "File: The file is a zip archive but not an Excel workbook"),
        (b"PK\x03\x04 not really a zip", "File: The file is not a readable Excel workbook."),
        ("URL,Sponsor\n".encode("utf-16"), "File: The file is not UTF-8 text."),
        (b"Sponsor,Colour\nx,y\n", "File: Row 1: there is no url column."),
        (b"URL,Sponsor\n", "File: The file names its columns but has no accounts in it."),
    ],
)
def test_bad_files_are_refused_plainly(app: Flask, tmp_path: Path, content: bytes, message: str) -> None:
    result = invoke(app, "channels", "import", write(tmp_path, content))

    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith(message), result.stdout


def test_unknown_columns_are_named(app: Flask, tmp_path: Path, people: dict[str, User]) -> None:
    content = "URL,Platform,Colour,Sponsor\nhttps://x.com/LeedsTest,,blue," + people["sponsor"].email + "\n"

    result = invoke(app, "channels", "import", write(tmp_path, content), "--dry-run")

    assert "Columns ignored (not ones the import reads): Colour" in result.stdout.splitlines()


def test_size_and_row_limits(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = invoke(app, "channels", "import", write(tmp_path, b"url\n" + b"x" * importing.MAX_BYTES))
    assert big.exit_code == 1 and "the most one import takes is 2 MB" in big.stderr

    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 2)
    many = invoke(app, "channels", "import", write(tmp_path, "url\n" + "".join(f"x.com/a{n}\n" for n in range(3))))
    assert many.exit_code == 1
    assert many.stdout.splitlines()[0] == (
        "File: The file has more than 2 accounts: the most one import takes. Split it into smaller files."
    )


# --- the communications team's page --------------------------------------------------------------


def upload(browser: Browser, content: str | bytes, name: str = "inventory.csv"):  # type: ignore[no-untyped-def]
    data = content.encode() if isinstance(content, str) else content
    return browser.post("/channels/import", data={"file": (io.BytesIO(data), name)})


def confirm(browser: Browser, page: str):  # type: ignore[no-untyped-def]
    fields = ("file", "token", "filename")
    return browser.post("/channels/import/confirm", data={name: hidden(page, name) for name in fields})


def test_preview_then_confirm(
    browser_as: Callable[..., Browser], connection: Connection, people: dict[str, User]
) -> None:
    comms = browser_as("comms")
    intro = text_of(comms.get("/channels/import"))
    assert "<h1>Import the existing channels</h1>" in intro
    assert "jo.bloggs@nhs.net (owner); sam.lee@nhs.net" in intro
    before = (seq(connection), count(Channel))

    preview = upload(comms, inventory(people))

    assert preview.status_code == 200
    page = text_of(preview)
    assert "What each row of inventory.csv will do" in page
    assert "2 accounts in inventory.csv: 2 to create, 0 to record as unofficial, 0 already in the registry." in page
    assert (seq(connection), count(Channel)) == before

    done = confirm(comms, page)

    assert done.status_code == 302 and done.headers["Location"].endswith("/channels")
    assert "Imported: 2 accounts: 2 created" in text_of(comms.get("/channels"))
    # Two channels have this handle (row 2 on X, row 3 on Instagram): the X one, whatever order the database keeps.
    channel = (
        db.session()
        .execute(select(Channel).where(Channel.handle == "leedsmaternity", Channel.platform == "x"))
        .scalar_one()
    )
    assert channel.status == "active"
    step = (
        db.session().execute(select(ChannelTransition).where(ChannelTransition.channel_id == channel.id)).scalar_one()
    )
    user = comms.user  # type: ignore[attr-defined]
    assert (step.actor_id, step.note) == (user.id, f"Imported from inventory.csv row 2 by {user.label}")
    events = (
        db.session()
        .execute(select(AuditEvent).where(AuditEvent.action == "channel:import").order_by(AuditEvent.seq))
        .scalars()
        .all()
    )
    assert [(event.object_id, event.actor_id) for event in events][:1] == [(channel.reference, user.id)]
    assert len(events) == 2

    again = text_of(upload(comms, inventory(people)))
    assert "0 to create, 0 to record as unofficial, 2 already in the registry" in again
    assert "Every account in the file is already in the registry: there is nothing to import." in again


def test_a_file_with_problems_shows_them_all_and_cannot_be_confirmed(
    browser_as: Callable[..., Browser], people: dict[str, User]
) -> None:
    comms = browser_as("comms")

    preview = upload(comms, HEADER + row("https://x.com/home", sponsor=people["sponsor"].email))

    assert preview.status_code == 422
    page = text_of(preview)
    assert "There is 1 problem with the file: nothing has been imported" in page
    assert '<a href="#row-2" > Row 2: URL or handle' in page
    assert 'name="token"' not in page


def test_a_bad_file_is_named_on_the_page(browser_as: Callable[..., Browser]) -> None:
    comms = browser_as("comms")

    assert "The workbook contains macros" in text_of(
        upload(comms, _zip({"xl/workbook.xml": b"<x/>", "xl/vbaProject.bin": b"x"}), "inventory.xlsm")
    )
    assert '<a href="#file" > Select a CSV or Excel file </a>' in text_of(comms.post("/channels/import", data={}))


def test_a_tampered_or_stale_confirmation_is_refused(
    browser_as: Callable[..., Browser],
    connection: Connection,
    people: dict[str, User],
    make_channel: Callable[..., Channel],
) -> None:
    comms = browser_as("comms")
    page = text_of(upload(comms, inventory(people)))
    other = browser_as("comms")
    before = (seq(connection), count(Channel))

    forged = comms.post("/channels/import/confirm", data={"file": hidden(page, "file"), "token": "forged"})
    someone_elses = confirm(other, page)

    for response in (forged, someone_elses):
        assert response.status_code == 400
        assert "This confirmation is not the one the preview gave" in text_of(response)
    assert (seq(connection), count(Channel)) == before

    make_channel("active", platform="x", handle="leedsmaternity")  # someone registered it meanwhile
    changed = confirm(comms, page)
    assert changed.status_code == 409
    assert "Something changed since your preview" in text_of(changed)
    assert "1 to create, 0 to record as unofficial, 1 already in the registry" in text_of(changed)


def test_only_the_communications_team_may_import(browser_as: Callable[..., Browser], people: dict[str, User]) -> None:
    staff = browser_as("staff")

    assert staff.get("/channels/import").status_code == 403
    assert upload(staff, inventory(people)).status_code == 403


def test_the_upload_is_held_in_memory_never_in_a_temporary_file(app: Flask) -> None:
    with app.test_request_context("/channels/import", method="POST"):
        assert isinstance(request._get_file_stream(10 * 1024 * 1024, "text/csv", "inventory.csv"), io.BytesIO)


def test_the_preview_reads_the_registry_in_a_fixed_number_of_statements(
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
    people: dict[str, User],
    make_channel: Callable[..., Channel],
) -> None:
    comms = browser_as("comms")
    make_channel("active", platform="x", handle="leedsexisting")
    sponsor, admin = people["sponsor"].email, people["admin"].email

    def content(size: int) -> str:
        rows = [row(f"https://x.com/leedsward{n}", sponsor=sponsor, admins=admin) for n in range(size)]
        return HEADER + "".join(rows) + row("https://x.com/leedsexisting", sponsor=sponsor)

    upload(comms, content(1))  # the first reading of the public facts
    counts = {}
    for size in (2, 30):
        with count_queries() as counted:
            response = upload(comms, content(size))
        assert response.status_code == 200, text_of(response)
        counts[size] = counted.n
    assert counts[2] == counts[30], counts


def test_more_refusals_a_row_can_have(
    app: Flask,
    tmp_path: Path,
    people: dict[str, User],
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """Official or not, unknown platforms and roles, leavers, and accounts monitoring already follows."""
    official = make_channel("active", platform="x", handle="leedsofficial")
    comms = make_user("comms")
    finding = monitoring.record_finding(
        platform="x", url="https://x.com/leedsfake", evidence="Uses our logo", found_on=None, actor=comms
    )
    leaver = make_user("staff", email="lee.leaver@example.nhs.uk", name="Lee Leaver")
    leaver.active = False
    db.session().commit()
    sponsor = people["sponsor"].email
    content = (
        "URL,Platform,Display name,Department,Purpose,Audience,Sponsor,Administrators,Official,Evidence\n"
        f"https://x.com/leedsofficial,,N,D,P,A,{sponsor},,no,Fake\n"
        f"https://x.com/leedsfake,,N,D,P,A,{sponsor},,yes,\n"
        f"leedsmyspace,MySpace,N,D,P,A,{sponsor},,,\n"
        f"https://x.com/leedsroles,,N,D,P,A,{sponsor},{people['admin'].email} (boss),,\n"
        f"https://x.com/leedsleaver,,N,D,P,A,{leaver.email},,,\n"
        f"https://x.com/leedsmaybe,,N,D,P,A,{sponsor},,perhaps,\n"
    )

    lines = invoke(app, "channels", "import", write(tmp_path, content), "--dry-run").stdout.splitlines()

    assert lines == [
        "Row 2 https://x.com/leedsofficial: problem:",
        f"  - This is in the registry as {official.reference} (active), so it cannot be recorded as unofficial.",
        "Row 3 https://x.com/leedsfake: problem:",
        f"  - Monitoring follows this account as unauthorised ({finding.reference}): if it is the Trust's, adopt it "
        "from that record instead.",
        "Row 4 leedsmyspace: problem:",
        "  - Platform 'MySpace': choose one of X (Twitter), Facebook, Instagram, LinkedIn, YouTube, TikTok, Threads, "
        "Bluesky, Mastodon, Pinterest, Flickr, Snapchat, WhatsApp, Other.",
        "Row 5 https://x.com/leedsroles: problem:",
        "  - Administrators 'ada.admin@example.nhs.uk (boss)': Choose the person's role on the platform: owner, admin, "
        "editor, moderator or analyst.",
        "Row 6 https://x.com/leedsleaver: problem:",
        "  - Sponsor: Lee Leaver (lee.leaver@example.nhs.uk) has left the Trust (their account is deactivated).",
        "Row 7 https://x.com/leedsmaybe: problem:",
        "  - Official 'perhaps': enter yes, or no for an account the Trust does not run.",
    ]


def test_text_that_is_not_utf8_is_refused_with_how_to_save_it(app: Flask, tmp_path: Path) -> None:
    result = invoke(
        app, "channels", "import", write(tmp_path, "URL,Display name\nx.com/a,Caf\u00e9\n".encode("cp1252"))
    )

    assert result.exit_code == 1
    assert result.stdout.startswith("File: The file is not UTF-8 text. In Excel, choose File, Save as")


def test_a_byte_order_mark_and_forgiving_headers(app: Flask, tmp_path: Path, people: dict[str, User]) -> None:
    content = (
        "\ufeffWeb address,Account name,SERVICE,purpose,Audience,Sponsor email,Next-Review\n"
        f"https://www.tiktok.com/@leedsmaternity,Maternity,Maternity,Videos,Parents,{people['sponsor'].email},1/4/2027\n"
    )

    result = invoke(app, "channels", "import", write(tmp_path, content))

    assert result.exit_code == 0, result.output
    channel = db.session().execute(select(Channel).where(Channel.platform == "tiktok")).scalar_one()
    assert (channel.display_name, channel.department, channel.next_review_on) == (
        "Maternity",
        "Maternity",
        dt.date(2027, 4, 1),
    )


def test_imported_channels_count_as_gone_live_in_the_monthly_report(
    app: Flask, tmp_path: Path, people: dict[str, User]
) -> None:
    assert invoke(app, "channels", "import", write(tmp_path, inventory(people))).exit_code == 0
    month = clock.today().strftime("%Y-%m")

    result = invoke(app, "report", "generate", month, "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["channels"]["created"] == 2


# --- an attacker's file and form (review13) ------------------------------------------------------


def test_a_confirmation_naming_another_file_is_refused(
    browser_as: Callable[..., Browser], connection: Connection, people: dict[str, User]
) -> None:
    """The file's name goes into each channel's history and audit event: it is the one the preview named,
    not whatever the hidden field is changed to ("Imported from X row 2 by the Chief Executive")."""
    comms = browser_as("comms")
    page = text_of(upload(comms, inventory(people)))
    before = (seq(connection), count(Channel))

    forged = comms.post(
        "/channels/import/confirm",
        data={
            "file": hidden(page, "file"),
            "token": hidden(page, "token"),
            "filename": "inventory.csv row 2 by Chief Executive; approved",
        },
    )

    assert forged.status_code == 409
    assert (seq(connection), count(Channel)) == before
    assert confirm(comms, page).status_code == 302  # the preview's own name still confirms


@pytest.mark.parametrize("cell", ["a" + " " * 150_000 + "a", "Jo" + " " * 150_000 + "Bloggs (editor"])
def test_an_administrators_cell_cannot_make_the_parser_backtrack(cell: str) -> None:
    """A name, spaces and no e-mail address in angle brackets: the pattern reads it in one pass (it took
    time quadratic in the cell's length: a 2 MB file of such cells held a worker for many minutes)."""
    assert importing._person(cell) is None


def test_administrators_written_every_way_still_parse() -> None:
    assert importing._person("Jo Bloggs <jo.bloggs@nhs.net> (editor)") == ("jo.bloggs@nhs.net", "editor")
    assert importing._person("  Jo  Bloggs   <jo.bloggs@nhs.net>") == ("jo.bloggs@nhs.net", "")
    assert importing._person("<jo.bloggs@nhs.net>") == ("jo.bloggs@nhs.net", "")
    assert importing._person("jo.bloggs@nhs.net (owner)") == ("jo.bloggs@nhs.net", "owner")
    assert importing._person("jo.bloggs@nhs.net") == ("jo.bloggs@nhs.net", "")
    assert importing._person("Jo (x) <jo.bloggs@nhs.net>") is None


def hostile_workbook(dimension: str, last_cell: str) -> bytes:
    """A small workbook whose sheet claims ``dimension`` and has one more cell, ``last_cell``: openpyxl
    pads every row up to the claimed last column and every missing row up to the last one, so a few KB
    claiming A1:XFD1048576 made it build 17 billion empty cells."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["URL", "Sponsor"])
    sheet.append(["https://x.com/leedsmaternity", "someone@nhs.net"])
    buffer = io.BytesIO()
    book.save(buffer)
    parts: dict[str, bytes] = {}
    with zipfile.ZipFile(buffer) as archive:
        for name in archive.namelist():
            parts[name] = archive.read(name)
    column = "".join(ch for ch in last_cell if ch.isalpha())
    row_number = last_cell[len(column) :]
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', xml)
    cell = f'<row r="{row_number}"><c r="{last_cell}" t="inlineStr"><is><t>x.com/far</t></is></c></row>'
    parts["xl/worksheets/sheet1.xml"] = xml.replace("</sheetData>", cell + "</sheetData>").encode()
    return _zip(parts)


def test_a_workbook_claiming_the_whole_sheet_is_read_as_far_as_an_import_goes() -> None:
    table = importing.read(hostile_workbook("A1:XFD1048576", "A1048576"))

    assert table.problems == [
        f"The sheet goes past row {spreadsheets.XLSX_MAX_ROW:,}, the last an import reads (rows that are only "
        "formatted count too): delete the rows below the accounts, or split the file."
    ]


def test_a_workbook_with_a_cell_in_its_last_column_is_read() -> None:
    """Cells beyond the columns an import could name are not read (nor padded to)."""
    table = importing.read(hostile_workbook("A1:XFD4", "XFD4"))

    assert table.problems == []
    assert [row.cells["url"] for row in table.rows] == ["https://x.com/leedsmaternity"]
