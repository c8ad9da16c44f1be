"""The rules of an account security check, as pure functions: what was found, and what is wrong.

A check is healthy when none of these holds, and needs attention when any does (NCSC, "Social
media: how to use it safely" and "protecting what you publish"):

- two-factor is off on the platform, or it sends codes by SMS (weak: a SIM can be swapped);
- the recovery e-mail is not at a domain the Trust controls (``REGISTRY_TRUST_EMAIL_DOMAINS``), or
  the recovery phone is not the Trust's;
- the password, or the authenticator (TOTP) seed, in custody was not confirmed to be the one the
  platform uses (a seed is needed when two-factor is by authenticator app);
- the account was not seen live, or its last post is older than ``REGISTRY_INACTIVE_DAYS``;
- the administrators on the platform do not match the Registry's roster.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

from registry.text import Labelled


class TwoFactor(Labelled):
    APP = "app", "On, with an authenticator app"
    SECURITY_KEY = "security_key", "On, with a security key or passkey"
    SMS = "sms", "On, with codes sent by SMS text message"
    OFF = "off", "Off"


class SeedAnswer(Labelled):
    YES = "yes", "Yes, the seed in custody gives the codes the platform accepts"
    NO = "no", "No, or I could not confirm it"
    #: No authenticator seed is held, because two-factor is not by app.
    NONE = "none", "There is no authenticator seed: two-factor is not by app"


#: Each problem's code → its plain-English message (``{domain}``, ``{days}`` are filled from the check).
PROBLEMS: Final = {
    "two_factor_off": "Two-factor authentication is off on the platform. Turn it on with an authenticator app "
    "or a security key.",
    "two_factor_sms": "Two-factor sends codes by SMS text message, which is weak: a phone number can be moved to "
    "another SIM. Change it to an authenticator app or a security key.",
    "recovery_email": "The recovery e-mail is at {domain}, which the Trust does not control. Change it to a "
    "Trust address.",
    "recovery_phone": "The recovery phone is not owned by the Trust. Change it to a Trust phone.",
    "password": "The password in custody was not confirmed to be the one the platform uses. Store the one in "
    "use, or change it and store the new one.",
    "seed": "The authenticator seed in custody was not confirmed to give the codes the platform accepts. Set "
    "up the authenticator again and store the new seed.",
    "seed_missing": "Two-factor is by authenticator app, but no seed is in custody. Store the seed so the team "
    "is not locked out.",
    "not_live": "The account was not seen live on the platform. Find out whether it was removed or taken over.",
    "inactive": "The last post was {days} days before the check. The NCSC advises closing accounts nobody uses: "
    "post again, or retire the channel.",
    "roster": "The administrators on the platform do not match the Registry's roster. Remove anyone who should "
    "not have access, or add them to the roster.",
}

DOMAIN_PATTERN: Final = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class Answers:
    """What a check found, as given (already parsed from the form or the API)."""

    two_factor: TwoFactor
    recovery_email_domain: str
    recovery_phone_trust: bool
    password_matches: bool
    seed: SeedAnswer
    seen_live: bool
    last_post_on: dt.date
    roster_matches: bool
    notes: str = ""


def email_domain(given: str) -> str | None:
    """The domain of a recovery e-mail address, from the address or the domain alone (None: not one)."""
    domain = given.strip().lower().rpartition("@")[2].strip().rstrip(".")
    return domain if DOMAIN_PATTERN.match(domain) else None


def trust_controlled(domain: str, trust_domains: tuple[str, ...]) -> bool:
    """Whether ``domain`` is one of the Trust's, or a subdomain of one."""
    return any(domain == own or domain.endswith("." + own) for own in trust_domains)


def problems(answers: Answers, *, trust_domains: tuple[str, ...], inactive_days: int, today: dt.date) -> list[str]:
    """The codes of what is wrong, in the checklist's order (empty: healthy)."""
    found: list[str] = []
    if answers.two_factor is TwoFactor.OFF:
        found.append("two_factor_off")
    elif answers.two_factor is TwoFactor.SMS:
        found.append("two_factor_sms")
    if not trust_controlled(answers.recovery_email_domain, trust_domains):
        found.append("recovery_email")
    if not answers.recovery_phone_trust:
        found.append("recovery_phone")
    if not answers.password_matches:
        found.append("password")
    if answers.seed is SeedAnswer.NO:
        found.append("seed")
    elif answers.seed is SeedAnswer.NONE and answers.two_factor is TwoFactor.APP:
        found.append("seed_missing")
    if not answers.seen_live:
        found.append("not_live")
    if (today - answers.last_post_on).days > inactive_days:
        found.append("inactive")
    if not answers.roster_matches:
        found.append("roster")
    return found


def message(code: str, *, domain: str, last_post_on: dt.date, checked_on: dt.date) -> str:
    """The plain-English message of a problem found by a check."""
    return PROBLEMS[code].format(domain=domain, days=(checked_on - last_post_on).days)
