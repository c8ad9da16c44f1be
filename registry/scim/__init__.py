"""Provisioning by the organisation's identity provider: SCIM 2.0 (RFC 7643/7644) at ``/scim/v2``.

Microsoft Entra ID (NHSmail) or any SCIM client pushes joiners, movers and leavers; a leaver goes
through the Registry's one leaver path. ``views`` serves the protocol (its blueprint, ``bp``), ``services``
holds the rules, ``schema`` says what the service publishes, ``cli`` makes the client's bearer tokens.
"""
