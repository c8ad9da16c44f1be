"""Breach reports (policy 9): reporting, routing to the line manager, HR, and comms when the Trust's
reputation is at risk."""

# Importing the package connects its receivers of account events, so no entry point can miss them.
from registry.breaches import subscriptions as subscriptions
