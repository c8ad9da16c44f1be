"""Moving a request along its lifecycle: one ``POST .../{reference}/transitions`` per kind of request
(declared by :meth:`registry.api.kinds.Routes.moving`).

The body is ``{action, ...}``. Which actions there are, who may take each and what each needs of
the other fields come from the kind's transition table (``registry/<kind>/workflow.py``): a kind
lists its actions as :class:`Action` rows, most of them made by :func:`row` from the table. The
document states them as a union discriminated by ``action``: one ``anyOf`` branch per action,
requiring what it needs and keeping out what it does not take. The endpoint enforces them in the
order the API always has:

1. 403 when the caller's roles do not allow the action at all (as a route's permission would);
2. 404 when there is no such request the caller may see;
3. 400 or 422 for the body: its fields' types, the action, and the fields the action needs or
   does not take that the kind's service does not check itself;
4. the kind's service, which checks everything else in its own order: who may take the action
   (403), the state, the four-eyes rule or a stale version (409), then each field (422), a field
   the action does not take among them. So a field sent with an action the caller may not take
   is answered 403, not 422.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from flask import request

from registry.api import blocks
from registry.api.operations import Body, Text
from registry.auth.permissions import Permission
from registry.errors import Invalid
from registry.lifecycle.kind import RequestKind
from registry.lifecycle.table import Need, Transition

R = TypeVar("R")


@dataclass(frozen=True)
class Action(Generic[R]):
    """One action of a kind's transitions endpoint.

    ``take`` does it (the kind's service), called as ``take(request, action, actor, **fields)``
    with the fields named in ``needs`` and ``needed``, and returns the request as it is after.
    ``needs``: each field the service reads, and whether the action requires it, takes it or
    refuses it (the service checks these); a field not named is not taken, and the endpoint
    refuses it when given. ``needed``: fields the endpoint itself requires (and passes to
    ``take``), with what to say when one is missing.
    ``permission``: the role the action needs whoever asks (None: the service decides, as for
    the requester's own actions); ``refusal`` is what someone without it is told.
    """

    take: Callable[..., R]
    needs: Mapping[str, Need] = field(default_factory=dict)
    needed: Mapping[str, str] = field(default_factory=dict)
    permission: Permission | None = None
    refusal: str = ""


def row(
    kind: RequestKind[Any],
    t: Transition[Any, Any],
    take: Callable[..., R],
    *,
    needed: Mapping[str, str] | None = None,
    **needs: Need,
) -> Action[R]:
    """The action of the table's row ``t``: its note (in the kind's note field) as the row says,
    ``needs`` for the other fields, ``needed`` as for :class:`Action`, and the row's permission with
    the kind's refusal."""
    return Action(
        take=take,
        needs={kind.note_field: t.note, **needs},
        needed=needed or {},
        permission=t.permission,
        refusal=kind.not_permitted(t) if t.permission is not None else "",
    )


def given(value: object) -> bool:
    """Whether a field was given: null, blank text (space and NUL) and an empty list or object are not."""
    if isinstance(value, str):
        return bool(value.replace("\x00", "").strip())
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return value is not None


def _listed(values: Iterable[str], last: str) -> str:
    items = list(values)
    return f"{', '.join(items[:-1])} {last} {items[-1]}" if len(items) > 1 else "".join(items)


class ActionBody(Body):
    """``{action, ...}``: a subclass declares the other fields and its ``actions``, by name."""

    actions: ClassVar[Mapping[str, Action[Any]]] = {}
    #: A field's schema when an action does not take it, where it is not simply "not given" (:func:`given`).
    absent: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    required: ClassVar[tuple[str, ...]] = ("action",)

    action: Annotated[str | None, Text({"type": "string"})] = None

    @classmethod
    def chosen(cls) -> Action[Any] | None:
        """The action the body names, read without refusing anything (the body is read later)."""
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            return None
        name = body.get("action") if isinstance(body, dict) else None
        return cls.actions.get(name) if isinstance(name, str) else None

    @classmethod
    def taken(cls) -> tuple[Any, Action[Any]]:
        """This request's body and its action, or :class:`Invalid` naming the fields at fault."""
        body = cls.read()
        if not given(body.action):
            raise Invalid({"action": f"Give an action: {_listed(cls.actions, 'or')}."})
        action = cls.actions.get(body.action or "")
        if action is None:
            raise Invalid({"action": f"Choose an action: one of {', '.join(cls.actions)}."})
        errors = {name: message for name, message in action.needed.items() if not given(getattr(body, name))}
        errors |= {
            name: f"{name} is not taken when the action is {body.action}: leave it out."
            for name in cls.model_fields
            if name != "action" and name not in action.needs and name not in action.needed
            if given(getattr(body, name))
        }
        if errors:
            raise Invalid(errors)
        return body, action

    @classmethod
    def document(cls, schema: dict[str, Any]) -> None:
        super().document(schema)
        fields = schema["properties"]
        fields["action"] = {**fields["action"], "enum": list(cls.actions)}
        schema["anyOf"] = [cls._branch(name, action, fields) for name, action in cls.actions.items()]

    @classmethod
    def _branch(cls, name: str, action: Action[Any], fields: Mapping[str, Any]) -> dict[str, Any]:
        """What ``name`` needs of the other fields: those it requires given, those it does not take left out."""
        required = {n for n, need in action.needs.items() if need is Need.REQUIRED} | set(action.needed)
        narrowed = {
            n: _present(fields[n]) if n in required else dict(cls.absent.get(n) or _absent(fields[n]))
            for n in fields
            if n != "action" and (n in required or action.needs.get(n, Need.NONE) is Need.NONE)
        }
        return blocks.branch("action", [name], needs=[n for n in fields if n in required], **narrowed)


def _types(schema: Mapping[str, Any]) -> list[str]:
    found = schema.get("type", [])
    return [found] if isinstance(found, str) else list(found)


def _present(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A field's schema narrowed to a given value (see :func:`given`)."""
    types = [t for t in _types(schema) if t != "null"]
    if not types:
        return {"not": {"type": "null"}}
    narrowed: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    if types == ["string"]:
        narrowed |= blocks.NOT_BLANK
    elif types == ["array"]:
        narrowed["minItems"] = 1
    elif types == ["object"]:
        narrowed["minProperties"] = 1
    return narrowed


def _absent(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A field's schema narrowed to what counts as not given (see :func:`given`)."""
    types = _types(schema)
    options: list[dict[str, Any]] = [{"type": "null"}]
    if "string" in types:
        options.append({"type": "string", "pattern": blocks.ONLY_BLANK})
    if "array" in types:
        options.append({"type": "array", "maxItems": 0})
    if "object" in types:
        options.append({"type": "object", "maxProperties": 0})
    return options[0] if len(options) == 1 else {"anyOf": options}
