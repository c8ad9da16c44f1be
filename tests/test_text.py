"""Dates and times as people in England read them, whatever the server's clock says."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from registry.text import Labelled, add_years, noun, plural, uk_date, uk_datetime, uk_midnight


def test_a_late_evening_in_summer_is_already_the_next_day_in_the_uk() -> None:
    late = dt.datetime(2026, 7, 14, 23, 30, tzinfo=dt.UTC)
    assert uk_date(late) == "15 July 2026"
    assert uk_datetime(late) == "15 July 2026 at 12:30am"
    assert uk_date(dt.date(2026, 3, 3)) == "3 March 2026"


def test_nothing_is_written_for_no_date() -> None:
    assert uk_date(None) == "" and uk_datetime(None) == ""


def test_a_uk_day_begins_an_hour_before_utc_midnight_in_summer() -> None:
    assert uk_midnight(dt.date(2026, 7, 15)) == dt.datetime(2026, 7, 14, 23, 0, tzinfo=dt.UTC)
    assert uk_midnight(dt.date(2026, 1, 15)) == dt.datetime(2026, 1, 15, 0, 0, tzinfo=dt.UTC)


def test_a_leap_day_a_year_on_is_the_28th_and_words_count() -> None:
    assert add_years(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 28)
    assert plural(1, "finding") == "1 finding" and plural(2, "finding") == "2 findings"
    assert plural(0, "role") == "0 roles" and plural(1, "person", "people") == "1 person"
    assert plural(3, "person", "people") == "3 people"
    assert (noun(1, "secret"), noun(2, "secret"), noun(2, "person", "people")) == ("secret", "secrets", "people")


class Shift(Labelled):
    EARLY = "early", "Early shift (7am to 3pm)"
    ON_CALL = "on-call", "On call"


def test_a_labelled_value_is_stored_and_sent_as_its_value_and_shown_by_its_label() -> None:
    assert Shift("on-call") is Shift.ON_CALL and Shift.ON_CALL.label == "On call"
    assert (str(Shift.EARLY), f"{Shift.EARLY}", json.dumps([Shift.EARLY])) == ("early", "early", '["early"]')
    assert [s.label for s in Shift] == ["Early shift (7am to 3pm)", "On call"]
    with pytest.raises(ValueError, match="'late' is not a valid Shift"):
        Shift("late")


def test_a_labelled_value_declared_without_its_label_fails_when_its_class_is_made() -> None:
    with pytest.raises(TypeError, match="Shift member 'late' has no label"):

        class Shift(Labelled):  # noqa: F811 (a second, faulty declaration)
            LATE = "late"
