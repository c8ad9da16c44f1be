"""Alerts that reach people: outgoing webhooks (Microsoft Teams, Slack, signed JSON).

Administrators set webhooks up at ``/admin/webhooks`` (each change audited). Anything that must reach
someone at 2 a.m. raises an alert, in the transaction of the change it announces::

    from registry import alerts
    from registry.alerts import AlertEvent

    alerts.raise_alert(
        AlertEvent.BREAK_GLASS_OPENED,
        title=f"Break-glass access opened on {channel.reference}",
        text=f"{user.name} opened emergency access: {reason}",   # masked by the screener
        link=f"/channels/{channel.reference}",                     # a path in the Registry
        facts={"Channel": channel.reference, "Incident": incident_reference},
    )

    alerts.raise_alert(
        AlertEvent.HEALTH_CHECK_FAILED,
        title=f"{channel.reference} needs attention after its security health check",
        text="Two-factor sign-in is off on the platform.",            # what is missing, in plain English
        link=f"/channels/{channel.reference}",
        facts={"Channel": channel.reference, "Checked by": user.name},
    )

That writes one delivery per active webhook taking the event (none: nothing happens); they are sent
once the transaction commits (never if it rolls back), retried with backoff by
``flask --app wsgi alerts send`` and given up after 6 tries, and the administrators see every
delivery's state. Title, text and facts pass through the patient-identifier screener; never put a
secret in them. Events: :class:`AlertEvent`.
"""

from registry.alerts.models import AlertEvent, WebhookFormat
from registry.alerts.services import raise_alert

__all__ = ["AlertEvent", "WebhookFormat", "raise_alert"]
