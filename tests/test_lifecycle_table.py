"""A lifecycle table's rows: what every kind's transitions carry without columns of their own."""

from __future__ import annotations

from registry.audit.models import AuditAction
from registry.lifecycle.table import Need, Transition
from registry.posts.workflow import TRANSITIONS, PostAction, PostStatus


def _row(**overrides: object) -> Transition[PostStatus, PostAction]:
    values: dict[str, object] = {
        "action": PostAction.REJECT,
        "sources": frozenset({PostStatus.SUBMITTED}),
        "target": PostStatus.REJECTED,
        "label": "Reject the post",
        "done": "rejected",
        "step": "Rejected",
        "audit": AuditAction.POST_REJECT,
        "permission": None,
    }
    return Transition(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_row_is_no_warning_and_its_reason_is_optional_unless_it_says_so() -> None:
    row = _row()
    assert (row.warning, row.reason_required, row.reason_label) == (False, False, "Reason")
    row = _row(warning=True, note=Need.REQUIRED, note_label="Why is it rejected?")
    assert (row.warning, row.reason_required, row.reason_label) == (True, True, "Why is it rejected?")


def test_the_post_table_reads_its_reasons_and_warnings_from_the_rows() -> None:
    assert {a for a, t in TRANSITIONS.items() if t.reason_required} == {PostAction.REQUEST_CHANGES, PostAction.REJECT}
    assert {a for a, t in TRANSITIONS.items() if t.warning} == {PostAction.REJECT, PostAction.WITHDRAW}
