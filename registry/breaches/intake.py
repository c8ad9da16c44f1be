"""Reporting a suspected breach (policy 9.1, 11.1): the reporter's answers, what is checked,
and where a new report goes (its line manager, or the communications team to route it)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from registry import db
from registry.audit.models import AuditAction
from registry.auth.models import User
from registry.breaches import clauses as policy_clauses
from registry.breaches import messages
from registry.breaches.kind import KIND, usable_manager
from registry.breaches.models import (
    ACCOUNT_MAX,
    LINK_MAX,
    NAME_MAX,
    BreachReport,
    BreachReportClause,
    PolicyClause,
)
from registry.breaches.workflow import REPORT, BreachStatus, RouteReason
from registry.errors import Invalid
from registry.lifecycle import engine
from registry.text import clean
from registry.uploads import services as uploads

DESCRIPTION_MAX: Final = 5000
_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class SubjectKind:
    """How the reporter identifies the member of staff concerned."""

    USER = "user"
    OTHER = "other"
    UNKNOWN = "unknown"
    ALL = (USER, OTHER, UNKNOWN)


@dataclass(frozen=True)
class BreachAnswers:
    """A report as the reporter states it."""

    account: str = ""
    link: str = ""
    description: str = ""
    clauses: tuple[str, ...] = ()
    reputational_risk: bool | None = None
    subject_kind: str = ""
    #: With ``subject_kind`` "user": their e-mail address or full name as the Registry knows it.
    subject_user: str = ""
    #: With ``subject_kind`` "other": their name, free text.
    subject_name: str = ""


@dataclass(frozen=True)
class _Checked:
    account: str
    link: str | None
    description: str
    clauses: tuple[str, ...]
    reputational_risk: bool
    subject: User | None
    subject_name: str | None


def _checked_link(raw: str, errors: dict[str, str]) -> str | None:
    link = clean(raw)
    if not link:
        return None
    if not _SCHEME.match(link):  # "x.com/name/status/1" as people copy it
        link = "https://" + link
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(ch.isspace() for ch in link):
        errors["link"] = "Enter the link as it appears in the browser's address bar, like https://x.com/name/status/123"
    elif len(link) > LINK_MAX:
        errors["link"] = f"The link must be {LINK_MAX} characters or fewer"
    return link


def find_subject(text: str) -> User:
    """The Registry user named by their e-mail address, or by their full name when exactly one
    active user has it; :class:`Invalid` (on ``subject_user``) otherwise."""
    value = clean(text)
    if not value:
        raise Invalid({"subject_user": "Enter their email address or full name"})
    session = db.session()
    if "@" in value:
        found = session.execute(select(User).where(User.email == value.lower())).scalar_one_or_none()
        people = [found] if found is not None else []
    else:
        people = list(
            session.execute(
                select(User).where(func.lower(User.name) == value.lower(), User.active.is_(True)).limit(2)
            ).scalars()
        )
    if len(people) > 1:
        raise Invalid({"subject_user": "More than one person in the Registry has this name: enter their email address"})
    if not people:
        raise Invalid(
            {
                "subject_user": (
                    "There is nobody in the Registry with this email address or name. Check it, or choose "
                    "'Someone who is not in the Registry' and give their name"
                )
            }
        )
    return people[0]


def _checked_text(value: str, limit: int, missing: str, too_long: str) -> tuple[str, str | None]:
    """``value`` cleaned, and what is wrong with it (None: nothing)."""
    text = clean(value)
    if not text:
        return text, missing
    if len(text) > limit:
        return text, f"{too_long} must be {limit} characters or fewer"
    return text, None


def _checked_clauses(numbers: Iterable[str], errors: dict[str, str]) -> tuple[str, ...]:
    known = policy_clauses.by_number()
    chosen: list[str] = []
    for number in numbers:
        value = clean(number)
        if value not in known:
            errors["clauses"] = "Choose parts of the policy from the list"
            break
        if value not in chosen:
            chosen.append(value)
    if not chosen and "clauses" not in errors:
        errors["clauses"] = "Choose at least one part of the policy it may breach"
    return tuple(chosen)


def _checked_subject(data: BreachAnswers, reporter: User, errors: dict[str, str]) -> tuple[User | None, str | None]:
    """The member of staff as a Registry user, or by name, or neither (not known)."""
    kind = clean(data.subject_kind)
    if kind == SubjectKind.USER:
        try:
            subject = find_subject(data.subject_user)
        except Invalid as exc:
            errors.update(exc.errors)
            return None, None
        if subject.id == reporter.id:
            errors["subject_user"] = (
                "You have named yourself. A report is about someone else: to raise something you did, "
                "talk to your line manager (policy 9.1)"
            )
        return subject, None
    if kind == SubjectKind.OTHER:
        name, problem = _checked_text(data.subject_name, NAME_MAX, "Enter their name", "The name")
        if problem:
            errors["subject_name"] = problem
        return None, name
    if kind != SubjectKind.UNKNOWN:
        errors["subject_kind"] = "Say whether you know who the member of staff is"
    return None, None


def _check(data: BreachAnswers, reporter: User) -> tuple[_Checked | None, dict[str, str]]:
    errors: dict[str, str] = {}
    account, problem = _checked_text(
        data.account, ACCOUNT_MAX, "Enter the account, for example '@jsmith on X'", "The account"
    )
    if problem:
        errors["account"] = problem
    link = _checked_link(data.link, errors)
    description, problem = _checked_text(
        data.description, DESCRIPTION_MAX, "Describe what was posted or done", "The description"
    )
    if problem:
        errors["description"] = problem
    chosen = _checked_clauses(data.clauses, errors)
    if data.reputational_risk is None:
        errors["reputational_risk"] = "Say whether it could affect the Trust's reputation"
    subject, subject_name = _checked_subject(data, reporter, errors)
    if errors:
        return None, errors
    return _Checked(
        account=account,
        link=link,
        description=description,
        clauses=chosen,
        reputational_risk=bool(data.reputational_risk),
        subject=subject,
        subject_name=subject_name,
    ), {}


def clause_rows(numbers: Sequence[str], *, session: Session | None = None) -> list[PolicyClause]:
    """The ``policy_clauses`` rows of the current policy version for ``numbers``, written from the
    policy file the first time a report cites them (two reports at once cannot write one twice)."""
    session = session or db.session()
    version = policy_clauses.policy_version()
    known = policy_clauses.by_number()
    table: Any = PolicyClause.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(table)
        .values([{"policy_version": version, "number": n, "text": known[n].text} for n in numbers])
        .on_conflict_do_nothing(index_elements=["policy_version", "number"])
    )
    rows = (
        session.execute(
            select(PolicyClause).where(PolicyClause.policy_version == version, PolicyClause.number.in_(numbers))
        )
        .scalars()
        .all()
    )
    order = list(numbers)
    return sorted(rows, key=lambda row: order.index(row.number))


def _first_route(
    subject: User | None, subject_name: str | None, reporter: User
) -> tuple[User | None, RouteReason | None]:
    """The line manager a new report goes to, or why it waits for the communications team."""
    if subject is None:
        return None, RouteReason.NOT_A_USER if subject_name else RouteReason.SUBJECT_UNKNOWN
    manager = subject.line_manager
    if manager is None:
        return None, RouteReason.NO_LINE_MANAGER
    if not usable_manager(manager) or manager.id == subject.id:
        return None, RouteReason.MANAGER_UNAVAILABLE
    if manager.id == reporter.id:
        return None, RouteReason.MANAGER_REPORTED
    return manager, None


def _subject_kind(subject: User | None, subject_name: str | None) -> str:
    if subject is not None:
        return SubjectKind.USER
    return SubjectKind.OTHER if subject_name else SubjectKind.UNKNOWN


def report_breach(data: BreachAnswers, evidence: Iterable[FileStorage | None], reporter: User) -> BreachReport:
    """Anyone reports a suspected breach (policy 9.1, 11.1). It goes to the line manager of the
    member of staff concerned, or to the communications team to route; a reputational risk
    is told to the communications team as well (9.3)."""
    checked, errors = _check(data, reporter)
    files = uploads.chosen_files(evidence)
    if "link" not in errors and not clean(data.link) and not files:
        errors["link"] = "Give a link to what was posted, or attach a screenshot as evidence, or both"
    stored = uploads.store_all(files, actor=reporter, field="evidence", errors=errors)
    assert checked is not None
    session = db.session()
    now = db.utcnow()
    manager, reason = _first_route(checked.subject, checked.subject_name, reporter)
    status = BreachStatus.WITH_MANAGER if manager is not None else BreachStatus.TO_ROUTE
    report = KIND.new(
        reporter,
        status,
        now,
        account=checked.account,
        link=checked.link,
        description=checked.description,
        policy_version=policy_clauses.policy_version(),
        reputational_risk=checked.reputational_risk,
        flagged_at=now if checked.reputational_risk else None,
        flagged_by_id=reporter.id if checked.reputational_risk else None,
        subject_id=checked.subject.id if checked.subject else None,
        subject_name=checked.subject_name,
        manager_id=manager.id if manager else None,
        route_reason=reason.value if reason else None,
    )
    session.add(report)
    session.flush()
    rows = clause_rows(checked.clauses)
    session.add_all(BreachReportClause(report_id=report.id, clause_id=row.id) for row in rows)
    attached = KIND.attach(report, stored, now)
    engine.opened(
        KIND,
        report,
        REPORT,
        reporter,
        now=now,
        assigned_to_id=manager.id if manager else None,
        audit=AuditAction.BREACH_REPORT,
        details={
            "status": report.status,
            "policy_version": report.policy_version,
            "clauses": [row.number for row in rows],
            "reputational_risk": report.reputational_risk,
            "subject": _subject_kind(checked.subject, checked.subject_name),
            "manager_id": report.manager_id,
            "route_reason": report.route_reason,
            "evidence": attached,
        },
    )
    session.flush()
    session.refresh(report)
    if manager is not None:
        messages.tell([manager], report, "breach:assigned")
    if status is BreachStatus.TO_ROUTE or report.reputational_risk:
        messages.tell(
            messages.comms_for(report, reporter),
            report,
            "breach:to_route" if status is BreachStatus.TO_ROUTE else "breach:flagged",
        )
    if report.reputational_risk:
        messages.alert_flagged(report)
    return report
