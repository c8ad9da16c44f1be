"""URL rules whose URL builders are compiled on first use.

Werkzeug compiles two Python functions for every rule as the rule is added (one to build its URL,
one to build it with extra query arguments), a few hundred ``compile`` calls when the app starts,
though a process builds the URLs of only some routes and never uses most of the second kind. Here
each is compiled the first time it builds a URL. Matching a request is unchanged: it uses the rule's
parts, which are still made at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug import routing

Builder = Callable[..., tuple[str, str]]


class Rule(routing.Rule):
    def _compile_builder(self, append_unknown: bool = True) -> Builder:
        compile_builder = super()._compile_builder
        compiled: list[Builder] = []

        def build(rule: Rule, **values: Any) -> tuple[str, str]:
            if not compiled:
                compiled.append(compile_builder(append_unknown))
            return compiled[0](rule, **values)

        return build
