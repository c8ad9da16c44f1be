"""Breach reports (policy 9): reporting, routing to the line manager, HR, and comms when the Trust's
reputation is at risk."""
