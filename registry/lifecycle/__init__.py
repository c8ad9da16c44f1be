"""Requests with a lifecycle: one engine for every kind of request.

- :mod:`registry.lifecycle.table`: a kind's states and transitions as data;
- :mod:`registry.lifecycle.steps`: the one step mixin every history table uses;
- :mod:`registry.lifecycle.kind`: a kind's declaration and the registry of kinds;
- :mod:`registry.lifecycle.engine`: the one guarded ``apply`` that moves a request.

See the README ("Adding a kind of request") for how a new kind is declared.
"""
