"""A lifecycle table's rows: what every kind's transitions carry without columns of their own."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar

import pytest

from registry.audit.models import AuditAction
from registry.auth.permissions import Permission
from registry.breaches.workflow import TRANSITIONS as BREACH_TRANSITIONS
from registry.breaches.workflow import BreachAction
from registry.lifecycle.kind import Decisions, ReportSection, RequestKind
from registry.lifecycle.table import Lifecycle, Need, State, Status, TableError, Transition, Worded
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


# A kind's table from its file (Lifecycle.load): a toy kind of its own, so no real kind's words are replaced.


class Door(Status):
    SHUT = "shut"
    OPEN = "open"
    GONE = "gone"


class Turn(StrEnum):
    ACTIVATE = "open"
    SUSPEND = "shut"
    RETIRE = "remove"


@dataclass(frozen=True, kw_only=True)
class DoorMove(Transition[Door, Turn]):
    """A row with a default permission, a field every row must give and one it may."""

    audit_prefix: ClassVar[str] = "CHANNEL"
    permission: Permission | None = Permission.CHANNEL_OPERATE
    sign: str
    bell: bool = False


GOOD = """
choose_action = "Open, shut or remove the door."

[states.shut]
label = "Shut"
phrase = "shut"
colour = "grey"

[states.open]
label = "Open"
phrase = "open to all"
colour = "green"

[states.gone]
label = "Removed"
phrase = "removed"
colour = "red"

[[transitions]]
action = "open"
from = ["shut"]
to = "open"
label = "Open the door"
done = "opened"
sign = "Come in"

[[transitions]]
action = "shut"
from = ["open"]
to = "shut"
permission = "requester"
label = "Shut the door"
done = "shut"
note = "required"
note_label = "Why shut it?"
four_eyes = true
bell = true
sign = "Closed"

[[transitions]]
action = "remove"
from = ["shut", "open"]
to = "gone"
permission = "channel:decide"
label = "Remove the door"
done = "removed"
step = "Door removed"
audit_as = "channel:update"
warning = true
sign = "Gone"

[other_steps]
fit = "Fitted"
"""


def _load(tmp_path: Path, text: str, **overrides: str) -> Lifecycle[Door, Turn, DoorMove]:
    path = tmp_path / "lifecycle.toml"
    path.write_text(text, encoding="utf-8")
    return Lifecycle.load(path, statuses=Door, actions=Turn, row=DoorMove, **overrides)


def test_a_table_file_loads_as_the_lifecycle_its_rows_declare(tmp_path: Path) -> None:
    loaded = _load(tmp_path, GOOD)
    declared = Lifecycle(
        statuses={
            Door.SHUT: State("Shut", "shut", "grey"),
            Door.OPEN: State("Open", "open to all", "green"),
            Door.GONE: State("Removed", "removed", "red"),
        },
        transitions=(
            DoorMove(
                action=Turn.ACTIVATE,
                sources=frozenset({Door.SHUT}),
                target=Door.OPEN,
                label="Open the door",
                done="opened",
                sign="Come in",
            ),
            DoorMove(
                action=Turn.SUSPEND,
                sources=frozenset({Door.OPEN}),
                target=Door.SHUT,
                permission=None,
                label="Shut the door",
                done="shut",
                note=Need.REQUIRED,
                note_label="Why shut it?",
                four_eyes=True,
                bell=True,
                sign="Closed",
            ),
            DoorMove(
                action=Turn.RETIRE,
                sources=frozenset({Door.SHUT, Door.OPEN}),
                target=Door.GONE,
                permission=Permission.CHANNEL_DECIDE,
                label="Remove the door",
                done="removed",
                step="Door removed",
                audit_as=AuditAction.CHANNEL_UPDATE,
                warning=True,
                sign="Gone",
            ),
        ),
        other_steps={"fit": "Fitted"},
        choose_action="Open, shut or remove the door.",
    )
    assert loaded == declared
    assert [type(t) for t in loaded.transitions] == [DoorMove] * 3
    assert list(loaded.statuses) == list(Door)
    # The defaults the file leaves to the row class, and the words the statuses read.
    opening = loaded.parse("open")
    assert (opening.permission, opening.four_eyes, opening.note, opening.bell) == (
        Permission.CHANNEL_OPERATE,
        False,
        Need.OPTIONAL,
        False,
    )
    assert (opening.audit, opening.step) == (AuditAction.CHANNEL_ACTIVATE, "Opened")
    assert (Door.OPEN.label, Door.OPEN.phrase, Door.GONE.colour) == ("Open", "open to all", "red")
    assert loaded.step_label("fit") == "Fitted"


def test_a_kind_may_compute_what_a_wrong_action_is_told_but_not_say_it_twice(tmp_path: Path) -> None:
    without = GOOD.replace('choose_action = "Open, shut or remove the door."', "")
    assert _load(tmp_path, without, choose_action="One of open, shut, remove.").choose_action == (
        "One of open, shut, remove."
    )
    assert _load(tmp_path, without).choose_action == "Choose what happens next."
    with pytest.raises(TableError, match=r"lifecycle\.toml: choose_action: the code computes it"):
        _load(tmp_path, GOOD, choose_action="One of open, shut, remove.")


ROW_2 = "[[transitions]] row 2 (action = 'shut')"
ROW_3 = "[[transitions]] row 3 (action = 'remove')"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # An unknown key: the row's keys are the row class's fields, "from" and "to" for its sources and target.
        ("bell = true", "colour = true", f"{ROW_2}: unknown key 'colour' (it takes action, from, to, label,"),
        ("four_eyes = true", "four_eye = true", f"{ROW_2}: unknown key 'four_eye': did you mean 'four_eyes'?"),
        ('to = "shut"', 'target = "shut"', f"{ROW_2}: unknown key 'target'"),
        ("[other_steps]", "[other_step]", "the file: unknown key 'other_step': did you mean 'other_steps'?"),
        ('colour = "grey"', 'colour = "grey"\ncolor = "grey"', "[states.shut]: unknown key 'color'"),
        # Unknown names: states, actions, permissions, audit actions, needs.
        ('from = ["shut", "open"]', 'from = ["shut", "ajar"]', f"{ROW_3} from: unknown state 'ajar' (one of shut,"),
        ('to = "gone"', 'to = "ajar"', f"{ROW_3} to: unknown state 'ajar' (one of shut, open, gone)"),
        ("[states.gone]", "[states.ajar]", "[states.ajar]: Door has no state 'ajar' (one of shut, open, gone)"),
        ('action = "remove"', 'action = "paint"', "row 3 (action = 'paint') action: unknown action 'paint' (one of"),
        ('permission = "requester"', 'permission = "door:shut"', f"{ROW_2} permission: unknown permission 'door:shut'"),
        (
            'permission = "channel:decide"',
            'permission = "channel:decided"',
            f"{ROW_3} permission: unknown permission 'channel:decided': did you mean 'channel:decide'?",
        ),
        ('audit_as = "channel:update"', 'audit_as = "door:remove"', f"{ROW_3} audit_as: unknown audit action 'door:"),
        (
            'note = "required"',
            'note = "maybe"',
            f"{ROW_2} note: unknown need 'maybe' (one of required, optional, none)",
        ),
        # A value of the wrong type.
        ("four_eyes = true", 'four_eyes = "yes"', f"{ROW_2} four_eyes: must be true or false, not str 'yes'"),
        ('label = "Shut the door"', "label = 3", f"{ROW_2} label: must be a string, not int 3"),
        ('from = ["open"]', 'from = "open"', f"{ROW_2} from: must be a list of states, not str 'open'"),
        ('from = ["open"]', "from = []", f"{ROW_2} from: must be a list of states, not list []"),
        ('from = ["open"]', "from = [true]", f"{ROW_2} from: must be a string, not bool True"),
        ('fit = "Fitted"', "fit = 1", "[other_steps] fit: must be a string, not int 1"),
        ('phrase = "removed"', "phrase = false", "[states.gone] phrase: must be a string, not bool False"),
        # A state of the enum with no words, and a state's words missing one.
        (
            '[states.gone]\nlabel = "Removed"\nphrase = "removed"\ncolour = "red"',
            "",
            "[states]: no words for Door gone",
        ),
        ('colour = "green"', "", "[states.open]: missing key 'colour'"),
        # An action declared twice, and a row missing what it must give.
        (
            'action = "remove"',
            'action = "open"',
            "row 3 (action = 'open'): action 'open' is declared twice (first in row 1)",
        ),
        ('sign = "Closed"', "", f"{ROW_2}: missing key 'sign'"),
        ('done = "shut"', "", f"{ROW_2}: missing key 'done'"),
    ],
)
def test_a_table_that_does_not_fit_its_code_fails_naming_the_file_the_row_and_the_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert GOOD.count(old) == 1, old
    with pytest.raises(TableError) as failed:
        _load(tmp_path, GOOD.replace(old, new))
    assert str(failed.value).startswith(f"{tmp_path / 'lifecycle.toml'}: "), str(failed.value)
    assert message in str(failed.value)


def test_a_file_that_is_not_toml_or_not_there_fails_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(TableError, match=r"lifecycle\.toml: Expected '=' after a key .*\(at line 2"):
        _load(tmp_path, GOOD.replace('choose_action = "Open', 'choose_action "Open'))
    with pytest.raises(TableError, match=r"missing\.toml"):
        Lifecycle.load(tmp_path / "missing.toml", statuses=Door, actions=Turn, row=DoorMove)


def test_a_row_without_an_audit_action_fails_naming_the_row(tmp_path: Path) -> None:
    @dataclass(frozen=True, kw_only=True)
    class Unaudited(DoorMove):
        audit_prefix: ClassVar[str] = "DOOR"

    path = tmp_path / "lifecycle.toml"
    path.write_text(GOOD, encoding="utf-8")
    row_1 = "[[transitions]] row 1 (action = 'open')"
    with pytest.raises(TableError, match=re.escape(f"{path}: {row_1}: No audit action DOOR_ACTIVATE")):
        Lifecycle.load(path, statuses=Door, actions=Turn, row=Unaudited)


# Each kind's table as its policy describes it (SPEC capabilities 1, 6 to 9 and 17 and the workflow modules'
# docstrings): the moves, who alone may take which and which are four-eyes. Written here from the policy, not
# from the files; the words and permissions are tested through the pages and the API.

ALL_BUT_CLOSED = {"reported", "acknowledged", "advice_given", "comms_responding"}
KINDS: dict[str, tuple[dict[str, tuple[set[str], str]], set[str], set[str]]] = {
    "channels": (
        {
            "approve": ({"requested"}, "approved"),
            "reject": ({"requested", "info_requested"}, "rejected"),
            "request_info": ({"requested"}, "info_requested"),
            "resubmit": ({"info_requested"}, "requested"),
            "activate": ({"approved"}, "active"),
            "suspend": ({"active"}, "suspended"),
            "reinstate": ({"suspended"}, "active"),
            "retire": ({"active", "suspended"}, "retired"),
            "withdraw": ({"requested", "info_requested", "approved"}, "withdrawn"),
        },
        {"resubmit", "withdraw"},
        {"approve", "reject", "request_info"},
    ),
    "consent": (
        {
            "approve": ({"submitted"}, "approved"),
            "approve_with_conditions": ({"submitted"}, "approved_with_conditions"),
            "request_changes": ({"submitted"}, "changes_requested"),
            "reject": ({"submitted", "changes_requested"}, "rejected"),
            "resubmit": ({"changes_requested"}, "submitted"),
            "withdraw": ({"submitted", "changes_requested"}, "withdrawn"),
        },
        {"resubmit", "withdraw"},
        {"approve", "approve_with_conditions", "request_changes", "reject"},
    ),
    "posts": (
        {
            "approve": ({"submitted"}, "approved"),
            "request_changes": ({"submitted"}, "changes_requested"),
            "reject": ({"submitted", "changes_requested"}, "rejected"),
            "resubmit": ({"changes_requested"}, "submitted"),
            "withdraw": ({"submitted", "changes_requested", "approved", "scheduled"}, "withdrawn"),
            "schedule": ({"approved", "scheduled"}, "scheduled"),
            "publish": ({"approved", "scheduled"}, "published"),
        },
        {"resubmit", "withdraw"},
        {"approve", "request_changes", "reject"},
    ),
    "media": (
        {
            "acknowledge": ({"reported"}, "acknowledged"),
            "advise": ({"reported", "acknowledged", "advice_given"}, "advice_given"),
            "respond": ({"reported", "acknowledged", "advice_given"}, "comms_responding"),
            "close": (ALL_BUT_CLOSED, "closed"),
        },
        set(),
        {"acknowledge", "advise", "respond", "close"},
    ),
    "breaches": (
        {
            "route": ({"to_route"}, "with_manager"),
            "close": ({"to_route"}, "closed"),
            "resolve": ({"with_manager"}, "closed"),
            "escalate": ({"with_manager"}, "with_hr"),
            "return": ({"with_manager"}, "to_route"),
            "outcome": ({"with_hr"}, "closed"),
        },
        set(),
        {"route", "close", "resolve", "escalate", "return", "outcome"},
    ),
    "breakglass": (
        {"close": ({"open"}, "closed"), "review": ({"open", "closed"}, "reviewed")},
        {"close"},
        {"review"},
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_loads_the_moves_its_policy_describes(kind: str) -> None:
    moves, requester_only, four_eyes = KINDS[kind]
    table: Lifecycle[Any, Any, Any] = importlib.import_module(f"registry.{kind}.workflow").LIFECYCLE
    assert {t.action.value: ({s.value for s in t.sources}, t.target.value) for t in table.transitions} == moves
    assert {t.action.value for t in table.transitions if t.permission is None} == requester_only
    assert {t.action.value for t in table.transitions if t.four_eyes} == four_eyes


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_reads_its_table_from_a_file_in_its_package(kind: str) -> None:
    """The file is the package's data (setup.cfg ships it in the wheel), read wherever the package is."""
    module = importlib.import_module(f"registry.{kind}.workflow")
    table: Lifecycle[Any, Any, Any] = module.LIFECYCLE
    shipped = files(f"registry.{kind}") / "lifecycle.toml"
    assert shipped.is_file()
    row = type(table.transitions[0])
    statuses, actions = type(table.transitions[0].target), type(table.transitions[0].action)
    computed = None if "choose_action" in shipped.read_text(encoding="utf-8") else table.choose_action
    again = Lifecycle.load(shipped, statuses=statuses, actions=actions, row=row, choose_action=computed)
    assert again == table


def test_breakglass_offers_its_two_actions_by_name() -> None:
    from registry.breakglass import workflow

    assert (workflow.CLOSE.action, workflow.REVIEW.action) == (
        workflow.AccessAction.CLOSE,
        workflow.AccessAction.REVIEW,
    )
    assert workflow.LIFECYCLE.transitions == (workflow.CLOSE, workflow.REVIEW)


# --- the kind as a whole: [kind], [kind.decisions], [report] and the states' flags -----------------------

KIND = """
[kind]
name = "door"
label = "Door request"
noun = "door"
read_all = "channel:read_all"
audit_names_action = true
demo_order = 70
card = "tests.doors:card"

[kind.decisions]
label = "Doors"
received = "open"
approvals = ["open"]
rejections = ["remove"]

[report]
key = "doors"
title = "Doors"
clause = "6.9"

[report.lines]
"doors.opened" = "Doors opened"
"doors.removed" = "Doors removed"
"""


def _flagged(text: str) -> str:
    """GOOD with the shut door open on its requester's list and waiting on them, the open one on comms'."""
    text = text.replace('colour = "grey"', 'colour = "grey"\nopen = true\nwaits_on = "requester"')
    return text.replace('colour = "green"', 'colour = "green"\nopen = true\nwaits_on = "comms"')


class Doors(RequestKind[Any]):
    """A kind without a step model: declared from a file only when a test says so."""


def _declared(tmp_path: Path, text: str) -> type[Doors]:
    kind = type("Doors", (Doors,), {})
    kind.declare_from(_load(tmp_path, _flagged(GOOD) + text))
    return kind


def test_a_kind_reads_its_words_report_and_state_sets_from_its_file(tmp_path: Path) -> None:
    kind = _declared(tmp_path, KIND)
    assert (kind.name, kind.label, kind.noun, kind.read_all) == (
        "door",
        "Door request",
        "door",
        Permission.CHANNEL_READ_ALL,
    )
    assert (kind.audit_names_action, kind.demo_order, kind.card, kind.demo) == (True, 70, "tests.doors:card", None)
    assert kind.decisions == Decisions("Doors", "open", ("open",), ("remove",))
    assert kind.report == ReportSection(
        "doors", "Doors", "6.9", (("doors.opened", "Doors opened"), ("doors.removed", "Doors removed"))
    )
    assert (kind.open_statuses, kind.awaiting_comms, kind.waiting_on_requester) == (
        {Door.SHUT, Door.OPEN},
        {Door.OPEN},
        {Door.SHUT},
    )
    # What the file leaves out keeps the class's default.
    assert (kind.note_field, kind.note_audited, kind.requester_column) == ("note", True, "requester_id")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('noun = "door"', 'nouns = "door"', "[kind]: unknown key 'nouns': did you mean 'noun'?"),
        ('noun = "door"', 'model = "door"', "[kind]: unknown key 'model'"),
        ('noun = "door"', "noun = 3", "[kind] noun: must be a string, not int 3"),
        ("audit_names_action = true", 'audit_names_action = "yes"', "[kind] audit_names_action: must be true or"),
        ("demo_order = 70", 'demo_order = "70"', "[kind] demo_order: must be a whole number, not str '70'"),
        ("demo_order = 70", "demo_order = true", "[kind] demo_order: must be a whole number, not bool True"),
        (
            'read_all = "channel:read_all"',
            'read_all = "channel:read_al"',
            "[kind] read_all: unknown permission 'channel:read_al': did you mean 'channel:read_all'?",
        ),
        ('label = "Door request"\n', "", "[kind]: missing key 'label'"),
        ('received = "open"\n', "", "[kind.decisions]: missing key 'received'"),
        ('approvals = ["open"]', 'approvals = "open"', "[kind.decisions] approvals: must be a list of strings"),
        ('rejections = ["remove"]', "rejections = [1]", "[kind.decisions] rejections: must be a string, not int 1"),
        ('clause = "6.9"', 'clause = "6.9"\norder = 1', "[report]: unknown key 'order'"),
        ('"doors.opened" = "Doors opened"', '"doors.opened" = 1', "[report] lines doors.opened: must be a string"),
        ('key = "doors"\n', "", "[report]: missing key 'key'"),
        ("[kind.decisions]", "[kind.decision]", "[kind]: unknown key 'decision': did you mean 'decisions'?"),
    ],
)
def test_a_kind_table_that_does_not_fit_fails_naming_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert KIND.count(old) == 1, old
    with pytest.raises(TableError) as failed:
        _declared(tmp_path, KIND.replace(old, new))
    assert str(failed.value).startswith(f"{tmp_path / 'lifecycle.toml'}: "), str(failed.value)
    assert message in str(failed.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('waits_on = "comms"', 'waits_on = "team"', "[states.open] waits_on: must be one of comms, requester"),
        ('waits_on = "comms"', "waits_on = 1", "[states.open] waits_on: must be a string, not int 1"),
        ('colour = "green"\nopen = true', 'colour = "green"\nopen = "yes"', "[states.open] open: must be true or"),
        ('colour = "green"\nopen = true', 'colour = "green"\nclosed = true', "[states.open]: unknown key 'closed'"),
    ],
)
def test_a_state_flag_that_does_not_fit_fails_naming_the_state(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = _flagged(GOOD)
    assert text.count(old) == 1, old
    with pytest.raises(TableError) as failed:
        _load(tmp_path, text.replace(old, new))
    assert message in str(failed.value)


def test_what_the_file_declares_the_class_may_not_say_again(tmp_path: Path) -> None:
    kind = type("Doors", (Doors,), {"noun": "portal"})
    with pytest.raises(TableError, match=r"lifecycle\.toml: \[kind\] noun: Doors says it too: say it in one place"):
        kind.declare_from(_load(tmp_path, GOOD + KIND))
    # The class may give what the file leaves out (a name it shares with its models' audit events).
    named = type("Doors", (Doors,), {"name": "door"})
    named.declare_from(_load(tmp_path, GOOD + KIND.replace('name = "door"\n', "")))
    assert (named.name, named.label) == ("door", "Door request")


class Hinge(StrEnum):
    TOP = "top"
    BOTTOM = "bottom"


HINGES = '\n[labels.hinge]\ntop = "The top hinge"\nbottom = "The bottom hinge"\n'


def test_a_file_labels_the_members_of_an_enum_in_the_enums_order(tmp_path: Path) -> None:
    loaded = _load(tmp_path, GOOD + HINGES.replace('top = "The top hinge"\n', "") + 'top = "The top hinge"\n')
    assert list(loaded.labels("hinge", Hinge).items()) == [
        (Hinge.TOP, "The top hinge"),
        (Hinge.BOTTOM, "The bottom hinge"),
    ]


def test_a_worded_enum_reads_its_labels_and_phrases_from_the_file(tmp_path: Path) -> None:
    loaded = _load(tmp_path, GOOD + HINGES + '\n[labels.hinge_phrase]\ntop = "the top one"\nbottom = "the lower one"\n')

    @loaded.worded("hinge", phrase="hinge_phrase")
    class Pivot(Worded):
        TOP = "top"
        BOTTOM = "bottom"

    @loaded.worded("hinge")
    class Plain(Worded):
        TOP = "top"
        BOTTOM = "bottom"

    assert [(p.label, p.phrase) for p in Pivot] == [
        ("The top hinge", "the top one"),
        ("The bottom hinge", "the lower one"),
    ]
    assert Plain.BOTTOM.label == "The bottom hinge"
    with pytest.raises(KeyError):
        Plain.TOP.phrase  # noqa: B018 (the file gives it no phrases)


def test_a_worded_enum_the_file_does_not_word_fails_when_its_class_is_made(tmp_path: Path) -> None:
    loaded = _load(tmp_path, GOOD + HINGES)
    with pytest.raises(TableError, match=r"\[labels\.hinge\]: no label for Pivot middle"):

        @loaded.worded("hinge")
        class Pivot(Worded):
            TOP = "top"
            MIDDLE = "middle"
            BOTTOM = "bottom"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('bottom = "The bottom hinge"', 'botom = "The bottom hinge"', "[labels.hinge]: unknown key 'botom': did you"),
        ('bottom = "The bottom hinge"\n', "", "[labels.hinge]: no label for Hinge bottom"),
        ('top = "The top hinge"', "top = 1", "[labels.hinge] top: must be a string, not int 1"),
        ("[labels.hinge]", "[labels.hinges]", "[labels.hinge]: no label for Hinge top, bottom"),
    ],
)
def test_labels_that_do_not_fit_their_enum_fail_naming_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(TableError) as failed:
        _load(tmp_path, GOOD + HINGES.replace(old, new)).labels("hinge", Hinge)
    assert str(failed.value).startswith(f"{tmp_path / 'lifecycle.toml'}: "), str(failed.value)
    assert message in str(failed.value)


def test_the_states_flags_are_the_only_place_a_kind_says_which_states_are_open(tmp_path: Path) -> None:
    kind = type("Doors", (Doors,), {"open_statuses": frozenset({Door.GONE})})
    with pytest.raises(TableError, match=r"\[states\] open_statuses: Doors says it too: say it in one place only"):
        kind.declare_from(_load(tmp_path, _flagged(GOOD) + KIND))
