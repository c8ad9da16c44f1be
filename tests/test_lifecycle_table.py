"""A lifecycle table's rows: what every kind's transitions carry without columns of their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from registry.audit.models import AuditAction
from registry.breaches.workflow import TRANSITIONS as BREACH_TRANSITIONS
from registry.breaches.workflow import BreachAction
from registry.lifecycle.table import Need, Transition
from registry.posts.workflow import TRANSITIONS, PostAction, PostStatus


@dataclass(frozen=True, kw_only=True)
class Row(Transition[PostStatus, PostAction]):
    audit_prefix: ClassVar[str] = "POST"


def _row(**overrides: object) -> Row:
    values: dict[str, object] = {
        "action": PostAction.REJECT,
        "sources": frozenset({PostStatus.SUBMITTED}),
        "target": PostStatus.REJECTED,
        "label": "Reject the post",
        "done": "rejected",
        "permission": None,
    }
    return Row(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_row_is_no_warning_and_its_reason_is_optional_unless_it_says_so() -> None:
    row = _row()
    assert (row.warning, row.reason_required, row.reason_label) == (False, False, "Reason")
    row = _row(warning=True, note=Need.REQUIRED, note_label="Why is it rejected?")
    assert (row.warning, row.reason_required, row.reason_label) == (True, True, "Why is it rejected?")


def test_a_step_is_labelled_with_what_was_done_unless_the_row_says_otherwise() -> None:
    assert _row(done="sent back to HR").step == "Sent back to HR"
    assert _row(done="recorded as published", step="Published").step == "Published"


def test_a_row_is_audited_as_its_kind_and_action_unless_it_names_another() -> None:
    assert _row().audit is AuditAction.POST_REJECT
    assert _row(audit_as=AuditAction.POST_UPDATE).audit is AuditAction.POST_UPDATE
    assert BREACH_TRANSITIONS[BreachAction.RETURN].audit is AuditAction.BREACH_ROUTE
    assert BREACH_TRANSITIONS[BreachAction.OUTCOME].audit is AuditAction.BREACH_HR_OUTCOME


def test_a_row_without_an_audit_action_fails_when_its_table_is_declared() -> None:
    with pytest.raises(TypeError, match="No audit action POSTS_PUBLISH"):

        @dataclass(frozen=True, kw_only=True)
        class Unaudited(Transition[PostStatus, PostAction]):
            audit_prefix: ClassVar[str] = "POSTS"

        Unaudited(
            action=PostAction.PUBLISH,
            sources=frozenset({PostStatus.SCHEDULED}),
            target=PostStatus.PUBLISHED,
            label="Publish",
            done="published",
            permission=None,
        )


def test_the_post_table_reads_its_reasons_and_warnings_from_the_rows() -> None:
    assert {a for a, t in TRANSITIONS.items() if t.reason_required} == {PostAction.REQUEST_CHANGES, PostAction.REJECT}
    assert {a for a, t in TRANSITIONS.items() if t.warning} == {PostAction.REJECT, PostAction.WITHDRAW}
