"""The files the credentials import reads (``registry.vault.importing``), named on their own so the
command line can offer them without importing the import itself."""

from __future__ import annotations

from enum import StrEnum


class Format(StrEnum):
    KEEPASS = "keepass"
    BITWARDEN_JSON = "bitwarden-json"
    CSV = "csv"

    @property
    def label(self) -> str:
        return {
            Format.KEEPASS: "KeePass database (.kdbx)",
            Format.BITWARDEN_JSON: "Bitwarden export (.json, not encrypted)",
            Format.CSV: "CSV file",
        }[self]

    @property
    def entry_word(self) -> str:
        """How the report names an entry: a CSV row by its spreadsheet row number, others by position."""
        return "Row" if self is Format.CSV else "Entry"
