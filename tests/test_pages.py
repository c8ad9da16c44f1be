"""Every page, for every role that may see it: it renders, it is an NHS page with one heading
and a title, the dashboard shows each role what it needs, and forms explain mistakes (WCAG
error summary linking to each field, with the message at the field too).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.alerts import services as alerts
from registry.audit.services import Actor
from registry.auth import services as accounts
from registry.auth.models import AccountRequest, User
from registry.auth.permissions import (
    PUBLIC,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    policy_of,
)
from registry.breaches import services as breaches
from registry.channels.models import Channel
from registry.consent import services as consents
from registry.media import services as media
from registry.monitoring import services as monitoring
from registry.posts import services as posts
from registry.reports import services as reports
from registry.roster import services as roster
from registry.vault import reveals
from registry.vault import services as custody
from registry.vault.models import CredentialReveal
from tests.conftest import Browser, csrf_token
from tests.test_breakglass import opened
from tests.test_vault import active_channel

ANONYMOUS = "anonymous"
ROLES = [role.value for role in Role]

#: endpoint → the path to open ({channel}, {own_channel}, {own_post}, {own_consent}, {own_media_contact},
#: {own_breach}, {finding}, {user}, {report}… are filled in).
PAGES = {
    "web.home": "/",
    "web.policy": "/policy",
    "web.accessibility": "/accessibility",
    "auth.login": "/login",
    "auth.account": "/account",
    "auth.change_password": "/account/password",
    "auth.two_factor": "/account/two-factor",
    "auth.users": "/admin/users",
    "auth.import_users": "/admin/users/import",
    "auth.create_user": "/admin/users/new",
    "auth.user": "/admin/users/{user}",
    "auth.approvals_index": "/admin/approvals",
    "auth.approval": "/admin/approvals/{account_request}",
    "channels.new": "/channels/new",
    "channels.mine": "/channels/mine",
    "channels.queue": "/channels/queue",
    "channels.import_inventory": "/channels/import",
    "channels.inventory": "/channels",
    "channels.detail": "/channels/{channel}",
    "channels.edit": "/channels/{own_channel}/edit",
    "vault.channel_credentials": "/channels/{channel}/credentials",
    "vault.overview": "/credentials",
    "vault.import_credentials": "/credentials/import",
    "monitoring.index": "/monitoring",
    "monitoring.new": "/monitoring/new",
    "monitoring.detail": "/monitoring/{finding}",
    "monitoring.adopt": "/monitoring/{finding}/adopt",
    "verification.verify_page": "/verify",
    "directory.directory_page": "/directory",
    "account_health.channel": "/channels/{channel}/health",
    "account_health.check": "/channels/{channel}/health/check",
    "roster.index": "/roster",
    "roster.leavers": "/roster/leavers",
    "roster.channel_roster": "/channels/{channel}/roster",
    "roster.revoke": "/channels/{channel}/roster/{grant}/revoke",
    "roster.reviews": "/access-reviews",
    "roster.new_review": "/access-reviews/new",
    "roster.review": "/access-reviews/{review}",
    "audit.index": "/audit",
    "screening.screen": "/screen",
    "web.work_queue": "/queue",
    "web.my_requests": "/requests",
    "notifications.messages": "/messages",
    "notifications.outbox": "/outbox",
    "alerts.index": "/admin/webhooks",
    "alerts.deliveries": "/admin/webhooks/deliveries",
    "alerts.new": "/admin/webhooks/new",
    "alerts.edit": "/admin/webhooks/{webhook}",
    "consent.register": "/consents",
    "consent.new": "/consents/new",
    "consent.detail": "/consents/{own_consent}",
    "consent.edit": "/consents/{own_consent_changes}/edit",
    "consent.letter": "/consents/{own_consent_approved}/letter",
    "consent.checklist": "/consents/checklist",
    "posts.index": "/posts",
    "posts.new": "/posts/new",
    "posts.detail": "/posts/{own_post}",
    "posts.edit": "/posts/{own_post}/edit",
    "media.index": "/media-contacts",
    "media.new": "/media-contacts/new",
    "media.detail": "/media-contacts/{own_media_contact}",
    "breaches.index": "/breaches",
    "breaches.waiting": "/breaches/waiting",
    "breaches.new": "/breaches/new",
    "breaches.detail": "/breaches/{own_breach}",
    "reports.index": "/reports",
    "reports.detail": "/reports/{report}",
    "breakglass.start": "/break-glass",
    "breakglass.index": "/break-glass/all",
    "breakglass.access": "/break-glass/{own_emergency_access}",
}
#: GET routes that answer with something other than an HTML page.
NOT_PAGES = {
    "static",
    "health.healthz",
    "health.readyz",
    "web.channel_chart",
    "channels.export",
    "audit.export",
    "roster.export",
    "roster.export_review",
    # Pages that exist only mid-way through signing in or once two-factor sign-in is set up;
    # tests/test_two_factor.py opens them in those states.
    "auth.login_second_factor",
    "auth.step_up",
    # Redirects to the identity provider (none is configured here): tests/test_oidc.py follows them.
    "auth.provider_start",
    "auth.provider_callback",
    "auth.provider_step_up",
    # A set-up link opens only with its token, for its own person: tests/test_separation_of_duties.py.
    "auth.setup_link",
    "auth.setup",
    # A message is only ever its recipient's: tests/test_notifications.py opens one.
    "notifications.message",
    # Downloads: tests/test_consent.py and tests/test_posts.py check them.
    "consent.export",
    "consent.artwork",
    "consent.letter_pdf",
    "posts.image",
    # A media contact's screenshot and a breach report's evidence file: tests/test_media_contacts.py
    # and tests/test_breaches.py check them.
    "media.screenshot",
    "breaches.evidence",
    # The monthly report's chart images and downloads: tests/test_reports.py checks them.
    "reports.chart",
    "reports.export_csv",
    # SCIM answers the provisioning client in application/scim+json: tests/test_scim.py checks every route.
    "scim.service_provider_config",
    "scim.resource_types",
    "scim.resource_type",
    "scim.schemas",
    "scim.schema",
    "scim.users",
    "scim.user",
    "scim.search",
    "scim.unknown",
    "reports.export_pdf",
}
H1 = re.compile(r"<h1[\s>]")
TITLE = re.compile(r"<title>\s*([^<]+?)\s*</title>")
SUMMARY = re.compile(r'class="nhsuk-error-summary".*?</ul>', re.DOTALL)


HEADING = re.compile(r"<h([1-6])[\s>]")
ID = re.compile(r"""\sid=["']([^"']+)["']""")
LOGO_LINK = re.compile(r'<a class="nhsuk-header__service-logo"[^>]*aria-label="([^"]*)"[^>]*>(.*?)</a>', re.DOTALL)


def skipped_heading_levels(body: str) -> list[str]:
    """Each place where a heading goes more than one level deeper than the one before (h1 then h3)."""
    levels = [int(level) for level in HEADING.findall(body)]
    return [f"h{before} → h{after}" for before, after in zip(levels, levels[1:], strict=False) if after > before + 1]


def repeated_ids(body: str) -> list[str]:
    """Each id used by more than one element: a label, an error link or aria-describedby pointing at a
    repeated id reaches the first only (and pages with several forms used to repeat ``csrf_token``)."""
    ids = ID.findall(body)
    return sorted({i for i in ids if ids.count(i) > 1})


def logo_link_named_by_its_text(body: str) -> bool:
    """WCAG 2.5.3 Label in Name: the accessible name of the header's logo link contains the words it shows
    (the trust's name and the service's), in the order shown, so a voice-control user can say what they see."""
    link = LOGO_LINK.search(body)
    if link is None:
        return False
    shown = re.sub(r"<title>.*?</title>|<[^>]+>", " ", link.group(2), flags=re.DOTALL)
    name = " ".join(html.unescape(link.group(1)).split())
    visible = " ".join(html.unescape(shown).split())
    return "Example NHS Foundation Trust" in visible and "Social Channel Registry" in visible and visible in name


def may_open(role: str, endpoint: str, app: Flask) -> bool:
    policy = policy_of(app.view_functions[endpoint])
    if policy is PUBLIC:
        return endpoint != "auth.login" or role == ANONYMOUS
    if role == ANONYMOUS:
        return False
    assert isinstance(policy, Permission)
    return policy in ROLE_PERMISSIONS[Role(role)]


def words(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def own_consents(requester: User, decider: User) -> dict[str, str]:
    """``requester``'s own logo consents (only they, comms and auditors may open them): waiting,
    sent back for changes, and approved, by their request references."""
    made: dict[str, str] = {}
    start = clock.today() + dt.timedelta(days=7)
    for key, decision in (
        ("own_consent", None),
        ("own_consent_changes", "request_changes"),
        ("own_consent_approved", "approve"),
    ):
        buffer = io.BytesIO()
        Image.new("RGB", (24, 16), (0, 94, 184)).save(buffer, "PNG")
        consent = consents.request_consent(
            consents.ConsentRequest(
                title=f"Pages leaflet {key}",
                department="Maternity",
                asset="nhs_lozenge",
                purpose="Classes.",
                media=("print",),
                audience="Parents",
                partner_involved=False,
                starts_on=start,
                ends_on=start,
            ),
            [FileStorage(stream=io.BytesIO(buffer.getvalue()), filename="draft.png")],
            requester,
        )
        if decision:
            consents.decide(
                consent,
                decision,
                decider,
                note="Use the supplied lozenge file.",
                checked=[i.id for i in consents.active_checklist()],
            )
        made[key] = consent.shown_reference
    db.session().commit()
    return made


def _post_of(user: User) -> str:
    """A post by ``user`` naming the test NHS number, so its page shows the screening warning."""
    channel = db.session().execute(select(Channel).where(Channel.status == "active")).scalars().first()
    assert channel is not None
    post = posts.propose(
        posts.PostProposal(
            text="Thank you from patient NHS number 943 476 5919.",
            channels=[channel.reference],
            wished_for=clock.today() + dt.timedelta(days=1),
            reason="Pages test.",
            consent_confirmed=True,
        ),
        user,
    )
    db.session().commit()
    return post.reference


def _media_contact_of(user: User) -> str:
    """A media approach ``user`` logged (only they, comms and auditors may open it)."""
    contact = media.log_approach(
        media.Approach(
            platform="x",
            outlet="Pages Gazette",
            contacted_at=db.utcnow() - dt.timedelta(hours=1),
            enquiry="Asked about the pages.",
            link="https://x.com/messages/9",
            not_responded=True,
        ),
        [],
        user,
    )
    db.session().commit()
    return contact.reference


def _breach_of(user: User) -> str:
    """A breach report ``user`` made (only they, of those the pages test signs in, may open it:
    nobody is named, so it waits for comms to route it, who see it too)."""
    made = breaches.report_breach(
        breaches.BreachAnswers(
            account="@pages_test on X",
            link="https://x.com/pages_test/status/1",
            description="Pages test.",
            clauses=("6.13",),
            reputational_risk=False,
            subject_kind="unknown",
        ),
        [],
        user,
    )
    db.session().commit()
    return made.reference


def _emergency_access_of(user: User, decider: User) -> str:
    """An emergency access ``user`` opened (on call or comms), or, for anyone else, one someone on call
    opened (comms and auditors see every one), to a channel with a password in custody."""
    channel = active_channel(user, decider, f"pages_bg_{user.id}")
    custody.store(channel, "password", "Pages-Test-Horse-1", "Taking custody.", decider)
    if not user.can(Permission.BREAK_GLASS_OPEN):
        user = accounts.create_user(
            email=f"on-call-pages-{user.id}@example.nhs.uk",
            name="On Call Pages",
            roles=["on-call"],
            password=None,
            actor=Actor.system("tests"),
        )
    return opened(user, channel).reference


def own_objects(user: User, decider: User) -> dict[str, str]:
    """What is ``user``'s own and only theirs to open: a post, logo consents in three states, a media
    approach and a breach report."""
    return {
        "own_post": _post_of(user),
        "own_media_contact": _media_contact_of(user),
        "own_breach": _breach_of(user),
        "own_emergency_access": _emergency_access_of(user, decider),
        **own_consents(user, decider),
    }


#: Placeholders for someone not signed in: they are sent to sign in before anything is looked up.
NOBODYS = {
    "own_post": "PP-2026-0001",
    "own_consent": "LCR-0001",
    "own_consent_changes": "LCR-0002",
    "own_consent_approved": "LCR-0003",
    "own_media_contact": "MC-0001",
    "own_breach": "BR-0001",
    "own_emergency_access": "BG-0001",
}


@pytest.fixture
def objects(app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]) -> dict[str, Any]:
    """A monitoring record, a user, an active channel with secrets in custody (two versions of its
    password, a two-factor seed, a copy in their history) that must be rotated, and last month's report."""
    comms = make_user("comms")
    finding = monitoring.record_finding(
        platform="", url="https://x.com/ExampleNHS_Help", evidence="Imitation.", found_on=None, actor=comms
    )
    channel = make_channel("active")
    custody.store(channel, "password", "pages secret one", "Taking custody.", comms)
    custody.store(channel, "password", "pages secret two", "Rotated after a leaver.", comms)
    custody.store(channel, "totp_seed", "JBSWY3DPEHPK3PXP", "Taking custody.", comms)
    credentials = custody.credentials_of(channel)
    db.session().add(
        CredentialReveal(
            credential_id=credentials[0].id,
            version=1,
            user_id=comms.id,
            action="reveal",
            reason="Posting.",
            occurred_at=db.utcnow(),
        )
    )
    reveals.record_copy(credentials[0], comms, 1)
    custody.mark_rotation_required(credentials, "Ann Smith left the agency.", actor=comms)
    grant = roster.grant(
        channel,
        email="sam@agency.example",
        name="Sam Agency",
        organisation="Bright Agency Ltd",
        platform_role="editor",
        actor=comms,
    )
    review = roster.start_review(title="Spring review", channel_ids=None, due_on=clock.today(), actor=comms)
    report = reports.generate(reports.default_month(), comms)
    db.session().commit()
    account_request = AccountRequest(
        kind="grant_roles",
        user_id=make_user("staff").id,
        roles="auditor",
        reason="Joins internal audit.",
        requested_by_id=make_user("admin").id,
        expires_at=db.utcnow() + dt.timedelta(days=7),
    )
    db.session().add(account_request)
    hook, _secret = alerts.create(
        alerts.Settings(
            name="Comms on-call", url="https://example.org/hook", events=["media_approach"], format="teams"
        ),
        make_user("admin"),
    )
    db.session().commit()
    return {
        "webhook": hook.id,
        "channel": channel.reference,
        "finding": finding.reference,
        "user": comms.id,
        "grant": grant.id,
        "review": review.reference,
        "report": report.month,
        "account_request": account_request.id,
    }


def test_every_get_route_is_a_checked_page_or_declared_not_a_page(app: Flask) -> None:
    """A new page must be added here, so that it is checked for every role."""
    unchecked = (
        {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/")
        }
        - set(PAGES)
        - NOT_PAGES
    )
    assert unchecked == set()


@pytest.mark.parametrize("role", [ANONYMOUS, *ROLES])
def test_every_page_renders_for_each_role_that_may_see_it(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    objects: dict[str, Any],
    role: str,
) -> None:
    """200, one <h1>, a title naming the page and the service, the NHS header and footer, English."""
    if role == ANONYMOUS:
        client = app.test_client()
        own = objects["channel"]
        mine = NOBODYS
    else:
        browser = browser_as(role)
        client = browser.client
        own = make_channel("info_requested", requester=browser.user).reference  # type: ignore[attr-defined]
        mine = own_objects(browser.user, make_user("comms"))  # type: ignore[attr-defined]
    wrong: dict[str, str] = {}
    opened = 0
    for endpoint, template in PAGES.items():
        if not may_open(role, endpoint, app):
            continue
        opened += 1
        path = template.format(own_channel=own, **mine, **objects)
        response = client.get(path)
        body = response.get_data(as_text=True)
        title = TITLE.search(body)
        if response.status_code != 200:
            wrong[path] = f"status {response.status_code}"
        elif len(H1.findall(body)) != 1:
            wrong[path] = f"{len(H1.findall(body))} <h1> elements"
        elif title is None or not title.group(1).endswith("Social Channel Registry – Example NHS Foundation Trust"):
            wrong[path] = f"title {title.group(1) if title else None!r}"
        elif 'class="nhsuk-header' not in body or 'class="nhsuk-footer' not in body or '<html lang="en"' not in body:
            wrong[path] = "not an NHS page"
        elif skipped := skipped_heading_levels(body):
            wrong[path] = f"heading levels skipped: {skipped}"
        elif repeated := repeated_ids(body):
            wrong[path] = f"ids used more than once: {repeated}"
        elif not logo_link_named_by_its_text(body):
            wrong[path] = "the header's logo link leaves its visible text out of its accessible name"
    assert wrong == {}
    assert opened >= 4


def test_pages_have_distinct_titles(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    objects: dict[str, Any],
) -> None:
    """Each page says what it is in its title (WCAG 2.4.2), so no two of comms' pages share one."""
    browser = browser_as("comms")
    mine = own_objects(browser.user, make_user("comms"))  # type: ignore[attr-defined]
    titles = {
        endpoint: TITLE.search(
            browser.get(template.format(own_channel=objects["channel"], **mine, **objects)).get_data(as_text=True)
        ).group(1)  # type: ignore[union-attr]
        for endpoint, template in PAGES.items()
        if may_open("comms", endpoint, app)
    }
    assert len(set(titles.values())) == len(titles), titles


# --- the dashboard ----------------------------------------------------------------------------


@pytest.fixture
def workload(app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]) -> None:
    make_channel("requested")
    make_channel("requested")
    make_channel("approved")
    make_channel("active")
    monitoring.record_finding(
        platform="", url="https://x.com/FakeTrust", evidence="Imitation.", found_on=None, actor=make_user("comms")
    )
    db.session().commit()


#: role → (texts its home page shows, texts it must not show); see also tests/test_dashboards.py.
EVERYDAY_ONLY = [
    "What needs you now",
    "Inventory health",
    "Channels by status",
    "Chain intact",
    "Manage users",
    "requests waiting on you",
    "media contacts waiting",
    "breach reports waiting",
    "dormant accounts",
]
BREACH_HANDLER = [
    "Request a social media channel",
    "Your requests and cases",
    "What needs you now",
    "0 breach reports waiting for you",
]
EXPECTED = {
    "staff": (
        ["Request a social media channel", "Your requests and cases", "You have no open requests or cases."],
        EVERYDAY_ONLY,
    ),
    "manager": (
        BREACH_HANDLER,
        [text for text in EVERYDAY_ONLY if text not in BREACH_HANDLER + ["breach reports waiting"]],
    ),
    "hr": (BREACH_HANDLER, [text for text in EVERYDAY_ONLY if text not in BREACH_HANDLER + ["breach reports waiting"]]),
    "comms": (
        [
            "What needs you now",
            "3 requests waiting on you",
            "0 media contacts waiting on you",
            "0 breach reports waiting for you",
            "1 unauthorised account still open",
            "Inventory health",
            "Channels by status",
            "Chain intact",
            "credentials to rotate",
        ],
        ["Manage users", "dormant accounts", "must set up two-factor sign-in"],
    ),
    "auditor": (
        ["Inventory health", "1 still open", "Channels by status", "Chain intact"],
        ["What needs you now", "requests waiting on you", "breach reports waiting", "Manage users", "dormant accounts"],
    ),
    "admin": (
        [
            "What needs you now",
            "Users",
            "Manage users",
            "Chain intact",
            "must set up two-factor sign-in",
            "dormant accounts",
        ],
        [
            "requests waiting on you",
            "breach reports waiting",
            "Inventory health",
            "Channels by status",
            "unauthorised accounts",
        ],
    ),
}


def test_the_home_dashboard_shows_each_role_what_it_needs(
    app: Flask,
    browser_as: Callable[..., Browser],
    workload: None,
) -> None:
    """Staff see their requests; comms their queue and findings; auditors the inventory and trail;
    admins the users."""
    for role, (shown, hidden) in EXPECTED.items():
        browser = browser_as(role)
        page = words(browser.get("/"))
        assert [text for text in shown if text not in page] == [], role
        assert [text for text in hidden if text in page] == [], role
        assert f"Hello {browser.user.name.split()[0]}" in page  # type: ignore[attr-defined]


def test_the_dashboard_lists_the_requesters_own_requests(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """A member of staff sees each of their requests and where it stands."""
    browser = browser_as("staff")
    channel = make_channel("info_requested", requester=browser.user)  # type: ignore[attr-defined]
    page = words(browser.get("/"))
    assert f"{channel.reference} {channel.display_name}" in page
    assert "More information needed" in page


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [ANONYMOUS, "staff"])
def test_page_not_found_is_an_nhs_page(app: Flask, browser_as: Callable[..., Browser], role: str) -> None:
    """A wrong address gets the NHS-styled 404 page with a way home; no stack trace, no echo of the path."""
    client = app.test_client() if role == ANONYMOUS else browser_as(role).client
    response = client.get("/no-such-page/<script>")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert 'class="nhsuk-header' in body and 'class="nhsuk-footer' in body
    assert len(H1.findall(body)) == 1
    assert "<h1>Page not found</h1>" in body
    assert TITLE.search(body).group(1).startswith("Page not found – ")  # type: ignore[union-attr]
    assert 'href="/"' in body
    assert "<script>" not in body.split("</head>")[1].replace("<script type", "")
    assert "Traceback" not in body


def test_an_unknown_channel_is_a_404_that_explains(app: Flask, browser_as: Callable[..., Browser]) -> None:
    """The message says what was not found and what a reference looks like."""
    response = browser_as("comms").get("/channels/CH-99999")
    assert response.status_code == 404
    assert "There is no channel 'CH-99999'. Check the reference, for example CH-0042." in words(response)


def test_forbidden_is_an_nhs_page(app: Flask, browser_as: Callable[..., Browser]) -> None:
    """403 explains itself on an NHS page."""
    response = browser_as("staff").get("/audit")
    assert response.status_code == 403
    assert "You do not have permission to do this" in words(response)
    assert 'class="nhsuk-header' in response.get_data(as_text=True)


# --- forms and their errors -------------------------------------------------------------------


def summary_targets(body: str) -> list[str]:
    summary = SUMMARY.search(body)
    assert summary is not None, "no error summary"
    return re.findall(r'href="#([^"]+)"', summary.group(0))


FORMS = [
    (None, "/login", {}, ["email", "password"]),
    ("staff", "/account/password", {}, ["current_password", "new_password"]),
    (
        "staff",
        "/account/password",
        {"current_password": "wrong password entirely", "new_password": "short"},
        ["current_password", "new_password"],
    ),
    ("admin", "/admin/users/new", {}, ["name", "email", "roles"]),
    ("admin", "/admin/users/new", {"name": "A Person", "email": "not-an-email"}, ["email", "roles"]),
    (
        "admin",
        "/admin/users/new",
        {"name": "", "email": "a.person@example.nhs.uk", "roles": ["comms"]},
        ["name", "reason"],
    ),
    ("staff", "/channels/new", {"platform": "x", "handle": "not a handle!"}, ["handle", "display_name"]),
    (
        "staff",
        "/channels/new",
        {},
        ["platform", "handle", "display_name", "department", "purpose", "audience", "posting_plan", "sponsor"],
    ),
    ("comms", "/monitoring/new", {}, ["url", "evidence"]),
    ("staff", "/screen", {"text": ""}, ["text"]),
    (
        "staff",
        "/consents/new",
        {},
        [
            "title",
            "department",
            "asset",
            "purpose",
            "media",
            "audience",
            "partner_involved",
            "starts_on",
            "ends_on",
            "artwork",
        ],
    ),
    (
        "staff",
        "/media-contacts/new",
        {},
        ["platform", "contacted_on", "contacted_time", "enquiry", "link", "not_responded"],
    ),
    ("staff", "/breaches/new", {}, ["account", "link", "description", "clauses", "reputational_risk", "subject_kind"]),
    ("comms", "/reports", {"month": "2025-13"}, ["month"]),
]


def test_forms_show_an_error_summary_linking_to_each_field(app: Flask, browser_as: Callable[..., Browser]) -> None:
    """Bad input re-renders the form (422): "Error:" in the title, a summary whose links each lead to
    an element on the page, and an inline message at each field."""
    browsers: dict[str, Browser] = {}
    for role, path, data, fields in FORMS:
        if role is None:
            client = app.test_client()
            response = client.post(path, data={**data, "csrf_token": csrf_token(client)})
        else:
            if role not in browsers:
                browsers[role] = browser_as(role)
            response = browsers[role].post(path, data)
        body = response.get_data(as_text=True)
        case = (path, data)

        assert response.status_code == 422, case
        assert TITLE.search(body).group(1).startswith("Error: "), case  # type: ignore[union-attr]
        targets = summary_targets(body)
        assert [f for f in fields if not any(t == f or t.startswith(f"{f}-") for t in targets)] == [], case
        assert [t for t in targets if f'id="{t}"' not in body] == [], case
        # The summary lists problems in the order of the fields on the page (its first link, the first field).
        assert targets == sorted(targets, key=lambda t: body.index(f'id="{t}"')), case
        assert body.count('class="nhsuk-error-message"') >= len(targets), case
        assert body.count("nhsuk-form-group--error") >= len(targets), case


def duplicate_ids(body: str) -> list[str]:
    ids = re.findall(r'\sid="([^"]+)"', body)
    return sorted({name for name in ids if ids.count(name) > 1})


def test_the_credentials_page_gives_each_element_its_own_id(
    app: Flask, browser_as: Callable[..., Browser], objects: dict[str, Any]
) -> None:
    """The page of a channel holding an authenticator secret has several forms asking for a reason (reveal,
    sign-in code, store): each field has its own id, so each label, hint and error link finds its field
    (WCAG 4.1.1, 1.3.1), whether the page is fresh or a form on it came back with a problem."""
    comms = browser_as("comms")
    path = f"/channels/{objects['channel']}/credentials"
    fresh = comms.get(path)
    refused = comms.post(path, {"kind": "password", "value": "", "reason": ""})
    generated = comms.post(f"{path}/generate", {"length": "30", "lower": "y", "digits": "y"})
    unexplained = comms.post(f"{path}/totp_seed/reveal", {"totp_seed-reason": ""})
    assert [fresh.status_code, refused.status_code, generated.status_code, unexplained.status_code] == [
        200,
        422,
        200,
        422,
    ]
    assert "Show the current sign-in code" in fresh.get_data(as_text=True)
    assert summary_targets(unexplained.get_data(as_text=True)) == ["totp_seed-reason"]
    for response in (fresh, refused, generated, unexplained):
        body = response.get_data(as_text=True)
        assert duplicate_ids(body) == []
        assert [t for t in re.findall(r'(?:for|href)="#?([^"/]+)"', body) if f'id="{t}"' not in body] == []
    assert summary_targets(refused.get_data(as_text=True)) == ["value", "store-reason"]


def test_the_channel_request_form_says_what_to_write(app: Flask, browser_as: Callable[..., Browser]) -> None:
    """Each message for an empty answer is an instruction in plain English, never a field's name
    ("Enter out of hours"), and the summary lists them in the order the page asks."""
    response = browser_as("staff").post("/channels/new", {})
    assert response.status_code == 422
    summary = SUMMARY.search(response.get_data(as_text=True))
    assert summary is not None
    links = re.findall(r'<a href="#[^"]+"\s*>([^<]+)</a>', summary.group(0))
    messages = [" ".join(html.unescape(link).split()) for link in links]
    assert messages == [
        "Choose the platform",
        "Enter the account's handle or web address",
        "Enter the name the account will show",
        "Enter the service or department that will own the account",
        "Describe what the account is for",
        "Describe who the account is for",
        "Enter who will write the account's posts",
        "Enter who will read and answer comments and messages",
        "Enter who will look after the account out of hours",
        "Enter the senior sponsor's name and job title",
        "Enter the name and NHS email address of each administrator",
        "Confirm that you have read the social media policy",
    ]
