"""The administrator roster (policy 7.2): who holds which role on each account, and access reviews."""
