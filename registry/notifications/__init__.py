"""Notifications: every message someone must act on or would want to know, kept in an
outbox and sent by e-mail when SMTP is configured; the daily reminders."""
