"""The files the credentials import reads (``registry.vault.importing``), named on their own so the
command line can offer them without importing the import itself."""

from __future__ import annotations

from registry.text import Labelled


class Format(Labelled):
    KEEPASS = "keepass", "KeePass database (.kdbx)"
    BITWARDEN_JSON = "bitwarden-json", "Bitwarden export (.json, not encrypted)"
    CSV = "csv", "CSV file"

    @property
    def entry_word(self) -> str:
        """How the report names an entry: a CSV row by its spreadsheet row number, others by position."""
        return "Row" if self is Format.CSV else "Entry"
