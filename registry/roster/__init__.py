"""The administrator roster (policy 7.2): who holds which role on each account, and access reviews."""

# Importing the package connects its receiver of account events, so no entry point can miss it.
from registry.roster import subscriptions as subscriptions
