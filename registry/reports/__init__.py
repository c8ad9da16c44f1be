"""The monthly report to senior management and the Board (policy 11.2)."""
