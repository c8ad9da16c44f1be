"""Logo and NHS lozenge consent (policy 6.8): requests, decisions, consent letters and the register."""
