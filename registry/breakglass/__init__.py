"""Break-glass emergency access: someone on call opens a time-boxed access to one channel's secrets
during an incident out of hours (policy 7.1, 7.2); comms are told at once, every secret seen must be
rotated, and comms review it afterwards."""
