"""Promotional post requests (policy 7.1, 6.11): staff propose, comms decide, schedule and publish."""
