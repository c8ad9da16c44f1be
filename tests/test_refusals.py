"""A refusal turned into a page in one place (registry.web.refusals.attempt)."""

from __future__ import annotations

from flask import Flask, get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import StringField

from registry.errors import Conflict, Invalid
from registry.web.refusals import attempt


class _Form(FlaskForm):
    class Meta:
        csrf = False

    scheduled_on = StringField()
    reason = StringField()


def _refuse(errors: dict[str, str]) -> None:
    raise Invalid(errors)


def test_fields_drawn_by_hand_are_handed_back_not_put_on_the_form(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        form = _Form()
        done = attempt(
            lambda: _refuse({"reason": "Enter a reason", "url_CH-0001": "Enter the address", "urls": "Not one"}),
            form,
            aside=lambda name: name.startswith("url_") or name == "urls",
        )
        assert done.invalid and done.status == 422 and done.result is None
        assert dict(done.aside) == {"url_CH-0001": "Enter the address", "urls": "Not one"}
        assert form.reason.errors == ["Enter a reason"]
        assert form.form_errors == []


def test_a_field_the_form_found_wrong_keeps_its_own_message(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        form = _Form()
        form.scheduled_on.errors = ["Enter a real date"]
        done = attempt(
            lambda: _refuse({"scheduled_for": "Enter the date"}), form, fields={"scheduled_for": "scheduled_on"}
        )
        assert done.status == 422 and dict(done.aside) == {}
        assert form.scheduled_on.errors == ["Enter a real date"]


def test_a_conflict_is_flashed_and_a_success_hands_back_its_result(app: Flask) -> None:
    def conflict() -> None:
        raise Conflict("It has changed since you opened it.")

    with app.test_request_context(method="POST"):
        done = attempt(conflict, _Form())
        assert not done and done.status == 409 and dict(done.aside) == {}
        assert get_flashed_messages() == ["It has changed since you opened it."]
        assert attempt(lambda: 42, _Form()).result == 42


def test_without_a_form_each_message_is_said_at_the_top_of_the_page(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        done = attempt(lambda: _refuse({"reason": "Enter a reason", "when": "Enter a date"}))
        assert done.invalid and not done
        assert get_flashed_messages() == ["Enter a reason", "Enter a date"]
