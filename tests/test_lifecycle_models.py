"""What the kinds' models share (registry/lifecycle/models.py, StepMixin, db.known and db.indexes)
declares each table as it was created: the same columns in the same order, checks and indexes."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Table

from registry.breaches.models import BreachEvidence, BreachStep
from registry.channels.models import Channel, ChannelTransition
from registry.channels.workflow import ChannelStatus
from registry.consent.models import LogoConsentArtwork
from registry.lifecycle.models import Reference
from registry.media.models import MediaContact, MediaContactEvidence


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def test_a_reference_is_its_prefix_and_at_least_four_digits_and_reads_back_loosely() -> None:
    channels = Reference("CH")
    assert (channels.of(7), channels.of(12345)) == ("CH-0007", "CH-12345")
    assert [channels.id_of(r) for r in ("CH-0007", " ch0007 ", "CH-12345", "CH-", "MC-0007", "", "CH-7x")] == [
        7,
        7,
        12345,
        None,
        None,
        None,
        None,
    ]


def test_a_request_reads_its_status_as_its_enum() -> None:
    assert Channel(status="active").status_enum is ChannelStatus.ACTIVE
    assert MediaContact(status="closed").status_enum.label == "Closed"


def test_the_known_check_lists_the_enum_values_under_the_column_name() -> None:
    checks = {c.name: str(c.sqltext) for c in _table(Channel).constraints if isinstance(c, CheckConstraint)}
    assert checks["ck_channels_status_known"] == "status IN (" + ", ".join(f"'{s.value}'" for s in ChannelStatus) + ")"


def test_indexes_are_named_by_the_convention() -> None:
    names = {index.name for index in _table(Channel).indexes}
    assert {"ix_channels_status", "ix_channels_requester_id", "ix_channels_platform_handle"} <= names


def test_a_step_table_indexes_its_request_and_when_and_what_it_asks_for() -> None:
    assert {i.name for i in _table(BreachStep).indexes} == {
        "ix_breach_steps_report_id",
        "ix_breach_steps_occurred_at",
        "ix_breach_steps_action_occurred_at",
    }
    # The monthly report counts one action's steps in a month, and the requests that took them, from one index.
    indexes = {i.name: i for i in _table(ChannelTransition).indexes}
    by_action = indexes["ix_channel_transitions_action_occurred_at"]
    assert [c.name for c in by_action.columns] == ["action", "occurred_at", "channel_id"]
    assert {i.name for i in _table(ChannelTransition).indexes} == {
        "ix_channel_transitions_channel_id",
        "ix_channel_transitions_occurred_at",
        "ix_channel_transitions_action_occurred_at",
    }


def test_an_attachment_table_keeps_the_column_order_it_was_created_with() -> None:
    assert [c.name for c in _table(BreachEvidence).columns] == ["id", "report_id", "upload_id", "added_at"]
    assert [c.name for c in _table(MediaContactEvidence).columns] == ["id", "media_contact_id", "upload_id", "added_at"]
    assert [c.name for c in _table(LogoConsentArtwork).columns] == [
        "id",
        "consent_id",
        "upload_id",
        "added_at",
        "removed_at",
        "removed_by_id",
    ]
    assert {i.name for i in _table(BreachEvidence).indexes} == {"ix_breach_evidence_upload_id"}
