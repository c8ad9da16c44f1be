"""Each API operation declared once: route, permission, rate limit, request and response models.

:func:`operation` puts a view on the API blueprint with its permission and rate limit and records it
for the OpenAPI document, which :func:`paths` and :func:`components` build from these declarations
alone. Requests and responses are pydantic models:

- a :class:`Body` reads the JSON body and a :class:`Query` the query string. They check shape and
  type (text is text, a flag is true or false, a filter is short enough) and refuse as the API always
  has: 400 for a body that is not a JSON object, 422 naming each field. Rules a person is told in
  words (required, lengths, a handle's grammar) stay in the services, which the browser forms share;
  each field's declared JSON Schema states them, and tests/test_openapi*.py hold the two together.
- an :class:`Out` is closed (``extra='forbid'``, so ``additionalProperties: false``): a field the
  document does not list cannot be sent. :func:`reply` serialises one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from flask import request
from flask.wrappers import Response
from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from registry.api import blocks
from registry.api.support import base64_files, bp, json_object, json_response
from registry.auth.permissions import PUBLIC, Permission, policy_of, public, requires
from registry.errors import Invalid
from registry.extensions import limited
from registry.text import parse_moment
from registry.web.pagination import MAX_PER_PAGE
from registry.web.pagination import Page as ResultPage

M = TypeVar("M", bound=BaseModel)
B = TypeVar("B", bound="Body")
R = TypeVar("R", bound="Out")
T = TypeVar("T", bound=BaseModel)

# --- field declarations: what a field must be, and its JSON Schema, in one place ----------------------


class Declared:
    """``Annotated`` metadata for a request field: the check the server makes and the JSON Schema
    the document states for it. ``check`` refuses with the message a client is shown."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = dict(schema)

    def check(self, value: object, name: str) -> object:
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_plain_validator_function(
            lambda value, info: self.check(value, info.field_name or "")
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return dict(self.schema)


def refuse(name: str, message: str) -> PydanticCustomError:
    """The 422 message for field ``name`` (braces in ``message`` are kept as they are)."""
    return PydanticCustomError("refused", "{message}", {"message": message, "field": name})


def refuse_each(errors: Mapping[str, str]) -> PydanticCustomError:
    """422 messages for parts of a field, by name (``images.0.filename``)."""
    return PydanticCustomError("refused", "{message}", {"message": next(iter(errors.values())), "each": errors})


class Text(Declared):
    """Text, null or left out; anything else is refused as "NAME must be text."."""

    def check(self, value: object, name: str) -> object:
        if value is None or isinstance(value, str):
            return value
        raise refuse(name, f"{name} must be text.")


class Flag(Declared):
    """True or false, null or left out."""

    def check(self, value: object, name: str) -> object:
        if value is None or isinstance(value, bool):
            return value
        raise refuse(name, f"{name} must be true or false.")


class FreeText(Declared):
    """A free-text query filter: at most ``limit`` characters and no NUL; blank means any."""

    def __init__(self, limit: int, **schema: Any) -> None:
        super().__init__(blocks.query_text(limit, **schema))
        self.limit = limit

    def check(self, value: object, name: str) -> object:
        text = value if isinstance(value, str) else ""
        if len(text) > self.limit:
            raise refuse(name, f"{name} must be {self.limit} characters or fewer.")
        if "\x00" in text:
            raise refuse(name, f"{name} must not contain NUL characters.")
        return text


class Choice(Declared):
    """A query parameter that is one of ``values`` (or empty for ``default``)."""

    def __init__(self, values: Iterable[str], default: str, **schema: Any) -> None:
        self.values = tuple(values)
        super().__init__({"type": "string", "enum": ["", *self.values], **schema})
        self.default = default

    def check(self, value: object, name: str) -> object:
        if value in (None, ""):
            return self.default
        if value not in self.values:
            raise refuse(name, f"{name} must be {' or '.join(self.values)}.")
        return value


class IsoDate(Declared):
    """A date (ISO 8601), or null or left out; with ``blank_is_none``, blank text is none too.
    ``like`` ends the refusal of anything else ("must be a date like 2027-03-31.")."""

    def __init__(
        self, schema: Mapping[str, Any], *, blank_is_none: bool = False, like: str = "like 2027-03-31"
    ) -> None:
        super().__init__(schema)
        self.blank_is_none, self.like = blank_is_none, like

    def check(self, value: object, name: str) -> object:
        if value is None or (self.blank_is_none and isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        elif self.blank_is_none:
            raise refuse(name, f"{name} must be text.")
        raise refuse(name, f"{name} must be a date {self.like}.")


class Ids(Declared):
    """A list of whole numbers (ids), or null or left out; 3.0 counts as 3, as JSON Schema counts it.
    With ``most``, at most that many ids from 1 to ``upper``, else ``refusal`` (after the field's name)."""

    def __init__(
        self, schema: Mapping[str, Any], *, most: int | None = None, upper: int = 2**63, refusal: str = ""
    ) -> None:
        super().__init__(schema)
        self.most, self.upper, self.refusal = most, upper, refusal or "must be a list of whole numbers (ids)."

    def check(self, value: object, name: str) -> object:
        if value is None:
            return None
        if isinstance(value, list):
            value = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
        if (
            not isinstance(value, list)
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or (self.most is not None and (len(value) > self.most or not all(1 <= v <= self.upper for v in value)))
        ):
            raise refuse(name, f"{name} {self.refusal}")
        return value


class Texts(Declared):
    """A list of text (read as a tuple), or null or left out; ``such_as`` describes one for the refusal."""

    def __init__(self, schema: Mapping[str, Any], *, such_as: str) -> None:
        super().__init__(schema)
        self.such_as = such_as

    def check(self, value: object, name: str) -> object:
        if value is None:
            return None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise refuse(name, f"{name} must be a list of {self.such_as}.")


class Moment(Declared):
    """A date and time (ISO 8601; without an offset, UK time), or null or left out."""

    def check(self, value: object, name: str) -> object:
        try:
            return None if value is None else parse_moment(value, name)
        except Invalid as exc:
            raise refuse(name, exc.errors[name]) from None


class Base64Files(Declared):
    """Files sent inside the body: ``[{filename, content_base64}]``, at most ``most`` of them, checked
    as :func:`registry.api.support.base64_files` checks them; read as files for the upload checks."""

    def __init__(self, schema: Mapping[str, Any], *, most: int, too_many: str, noun: str, example: str) -> None:
        super().__init__(schema)
        self.most, self.too_many, self.noun, self.example = most, too_many, noun, example

    def check(self, value: object, name: str) -> object:
        try:
            return base64_files(
                {name: value}, name, most=self.most, too_many=self.too_many, noun=self.noun, example=self.example
            )
        except Invalid as exc:
            raise refuse(name, exc.errors[name]) from None


class Described(Declared):
    """A query parameter whose rules the given parser checks (a service's filters, paging)."""


class Among(Described):
    """A query filter that is one of ``values`` or nothing (blank: the server trims it)."""

    def __init__(self, values: Iterable[str], description: str | None = None) -> None:
        super().__init__({**blocks.blank_or(values), **({"description": description} if description else {})})


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


#: A date and time in a response, written as Python's ``isoformat`` writes it.
Timestamp = Annotated[dt.datetime, PlainSerializer(_iso), WithJsonSchema(blocks.TIMESTAMP)]
#: A timestamp some are not shown: left out for them (never null).
ShownTimestamp = Annotated[dt.datetime | None, PlainSerializer(_iso), WithJsonSchema(blocks.TIMESTAMP)]
MaybeTimestamp = Annotated[
    dt.datetime | None, PlainSerializer(_iso), WithJsonSchema({**blocks.TIMESTAMP, "type": ["string", "null"]})
]
Date = Annotated[dt.date, PlainSerializer(_iso), WithJsonSchema({"type": "string", "format": "date"})]
MaybeDate = Annotated[
    dt.date | None, PlainSerializer(_iso), WithJsonSchema({"type": ["string", "null"], "format": "date"})
]


def one_of(values: Iterable[str], *, null: bool = False) -> WithJsonSchema:
    """The schema of a response field holding one of ``values`` (or null)."""
    listed: list[str | None] = list(values)
    if null:
        return WithJsonSchema({"type": ["string", "null"], "enum": [*listed, None]})
    return WithJsonSchema({"type": "string", "enum": listed})


# --- models -------------------------------------------------------------------------------------------


def _validated(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            each = (error.get("ctx") or {}).get("each") or {".".join(str(part) for part in error["loc"]): error["msg"]}
            for name, message in each.items():
                errors.setdefault(name, message)
        raise Invalid(errors) from None


class Body(BaseModel):
    """A JSON request body. Unknown fields are ignored, as the API has always said; ``needed`` names
    the fields that must be given (not null or empty) and what to tell a client who left one out.
    ``extra`` is the rest of the object's schema (``anyOf`` branches, a description)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    needed: ClassVar[dict[str, str]] = {}
    required: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[dict[str, Any]] = {}
    #: What some fields must be in this body beyond their declaration (``{"artwork": {"minItems": 1}}``).
    narrowed: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def read(cls: type[B]) -> B:
        """This request's body, or :class:`Invalid` naming every field at fault (400: not an object)."""
        given = json_object()
        model = _validated(cls, given)
        missing = {name: message for name, message in cls.needed.items() if given.get(name) in (None, "")}
        if missing:
            raise Invalid(missing)
        return model

    @classmethod
    def document(cls, schema: dict[str, Any]) -> None:
        """Complete the schema pydantic wrote: the fields that must be given (not null either, so that
        a body and a change to it can share their fields' declarations), ``narrowed``, then ``extra``."""
        schema["required"] = [*cls.required, *(n for n in cls.needed if n not in cls.required)]
        if not schema["required"]:
            del schema["required"]
        fields = schema.get("properties", {})
        for name in cls.required:
            fields[name] = blocks.not_null(fields[name])
        for name, narrowing in cls.narrowed.items():
            fields[name] = {**fields[name], **narrowing}
        schema.update(cls.extra)


class Query(BaseModel):
    """The query string (the first value of each parameter). Unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    @classmethod
    def read(cls: type[M], *parsers: Callable[[], Any]) -> tuple[M, list[Any]]:
        """The parameters, and what each of ``parsers`` (which raise :class:`Invalid`) gives;
        every bad parameter is refused in one 422."""
        errors: dict[str, str] = {}
        model = None
        try:
            # The request itself: an attribute read through werkzeug's proxy raises and catches an AttributeError.
            model = _validated(cls, request._get_current_object().args.to_dict())  # type: ignore[attr-defined]
        except Invalid as exc:
            errors.update(exc.errors)
        results = []
        for parse in parsers:
            try:
                results.append(parse())
            except Invalid as exc:
                errors.update(exc.errors)
        if errors or model is None:
            raise Invalid(errors)
        return model, results


class Out(BaseModel):
    """A response body: closed, so that the document lists every field it can hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    #: Named in the document's components even where only other models hold it.
    named: ClassVar[bool] = False

    @classmethod
    def taking(cls: type[R], record: object, **given: Any) -> R:
        """The answer for ``record``: each field every answer has is the record's attribute of that
        name unless ``given``; fields shown only to some are left out unless ``given``."""
        taken = {
            name: getattr(record, name) for name, f in cls.model_fields.items() if f.is_required() and name not in given
        }
        return cls(**{**taken, **given})


class Listing(Out, Generic[T]):
    """``{items}``: every one of something."""

    items: list[T]


class Paged(Out, Generic[T]):
    """A page of results: ``items``, ``total``, ``page``, ``per_page``."""

    items: list[T]
    total: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})]
    page: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    per_page: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE})]

    @classmethod
    def of(cls, result: ResultPage[Any], items: list[T]) -> Paged[T]:
        return cls(items=items, total=result.total, page=result.page, per_page=result.per_page)


def reply(body: Out, status: int = 200) -> Response:
    """``body`` as the JSON response: fields left unset (shown only to some) are left out, not null."""
    return json_response(body.model_dump(mode="json", exclude_unset=True), status)


# --- operations ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A successful response: its model (or a raw schema), description, headers and links."""

    model: type[Out] | Mapping[str, Any] | None
    description: str
    headers: Mapping[str, Any] = field(default_factory=dict)
    links: Mapping[str, Any] = field(default_factory=dict)
    also: Mapping[str, Any] = field(default_factory=dict)  # other media types: {"text/csv": schema}
    content: Mapping[str, Any] = field(default_factory=dict)  # instead of JSON (a file download)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    description: str | None
    view: Callable[..., Any]
    answers: Mapping[int, Answer]
    body: type[Body] | None
    query: type[Query] | None
    parameters: tuple[Mapping[str, Any], ...]
    refusals: Mapping[int, str]
    limited: bool


OPERATIONS: list[Operation] = []
#: Schemas the document names that no model states (what a ``Declared`` field holds, for instance).
SCHEMAS: dict[str, Mapping[str, Any]] = {}


def component(name: str, schema: Mapping[str, Any]) -> dict[str, str]:
    """Name ``schema`` in the document's components; returns a ``$ref`` to it."""
    SCHEMAS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def operation(
    method: str,
    rule: str,
    *,
    id: str,
    summary: str,
    answers: Mapping[int, Answer],
    permission: Permission | None,
    limit: str | None,
    description: str | None = None,
    body: type[Body] | None = None,
    query: type[Query] | None = None,
    parameters: tuple[Mapping[str, Any], ...] = (),
    refusals: Mapping[int, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route ``method rule`` (under /api/v1) to the view, needing ``permission`` (None: public) and
    rate-limited by ``limit``; ``body`` and ``query`` are what the view reads with their ``read``,
    ``parameters`` the path parameters' declarations, ``refusals`` the statuses (409, 413...) the
    view's services may give besides the ones every such operation can."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        handler = view
        if limit is not None:
            handler = limited(limit)(handler)
        handler = public(handler) if permission is None else requires(permission)(handler)
        bp.add_url_rule(rule, view.__name__, handler, methods=[method])
        OPERATIONS.append(
            Operation(
                method=method.lower(),
                path=re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", bp.url_prefix + rule if bp.url_prefix else rule),
                operation_id=id,
                summary=summary,
                description=description,
                view=handler,
                answers=answers,
                body=body,
                query=query,
                parameters=parameters,
                refusals=refusals or {},
                limited=limit is not None,
            )
        )
        return handler

    return decorate


# --- the document -------------------------------------------------------------------------------------


class _Generator(GenerateJsonSchema):
    """JSON Schema as the document writes it: no titles or defaults, nullable types as type lists."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if isinstance(inner.get("type"), str):
            return {**inner, "type": [inner["type"], "null"]}
        return super().nullable_schema(schema)


def _models() -> list[type[BaseModel]]:
    """The models the document names: those of the operations, and any :class:`Out` marked ``named``."""
    found: dict[str, type[BaseModel]] = {}
    for op in OPERATIONS:
        for model in (op.body, *(a.model for a in op.answers.values())):
            if isinstance(model, type):
                assert found.setdefault(model.__name__, model) is model, f"two models named {model.__name__}"
                found.update({m.__name__: m for m in _named_within(model)})
    return list(found.values())


def _named_within(model: type[BaseModel]) -> list[type[BaseModel]]:
    named: list[type[BaseModel]] = []
    for info in model.model_fields.values():
        for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, Out) and candidate.named:
                named.append(candidate)
    return named


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def components() -> dict[str, Any]:
    """The schemas of the models the document names. Each stands alone, as a client may read it:
    the objects inside it are written out in it, except those named on their own."""
    models = _models()
    _, definitions = models_json_schema(
        [(m, "validation" if issubclass(m, Body) else "serialization") for m in models],
        ref_template="#/components/schemas/{model}",
        schema_generator=_Generator,
    )
    found = definitions.get("$defs", {})
    for schema in found.values():
        schema.pop("title", None)
        if "description" in schema:  # a docstring: its lines as one paragraph
            schema["description"] = " ".join(schema["description"].split())
    schemas: dict[str, Any] = {}
    for model in models:
        schema = _inline(found[model.__name__], found, {m.__name__ for m in models} | set(SCHEMAS))
        if issubclass(model, Body):
            model.document(schema)
        schemas[model.__name__] = schema
    return {**{name: dict(schema) for name, schema in SCHEMAS.items()}, **schemas}


def _inline(node: Any, definitions: dict[str, Any], named: set[str]) -> Any:
    if isinstance(node, dict):
        name = str(node.get("$ref", "")).removeprefix("#/components/schemas/")
        if name and name not in named:
            rest = {key: value for key, value in node.items() if key != "$ref"}
            return {**_inline(definitions[name], definitions, named), **rest}
        return {key: _inline(value, definitions, named) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions, named) for item in node]
    return node


def _query_parameters(model: type[Query]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(schema_generator=_Generator)
    parameters = []
    for name, spec in schema["properties"].items():
        spec = dict(spec)
        description = spec.pop("description", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "schema": spec}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _content(answer: Answer) -> dict[str, Any]:
    if answer.model is None:
        return dict(answer.content)
    schema = _ref(answer.model) if isinstance(answer.model, type) else dict(answer.model)
    return {"application/json": {"schema": schema}, **answer.also}


def paths() -> dict[str, Any]:
    """The ``paths`` of every declared operation, with the refusals each can give."""
    found: dict[str, Any] = {}
    for op in OPERATIONS:
        secured = policy_of(op.view) is not PUBLIC
        responses: dict[str, Any] = {}
        for status, answer in op.answers.items():
            responses[str(status)] = {"description": answer.description, "content": _content(answer)}
            if answer.headers:
                responses[str(status)]["headers"] = dict(answer.headers)
            if answer.links:
                responses[str(status)]["links"] = dict(answer.links)
        refusals: dict[int, Any] = {}
        if op.body is not None:
            refusals |= {400: blocks.ERRORS_400, 422: blocks.ERRORS_422}
        if op.query is not None:
            refusals[422] = blocks.ERRORS_422
        if secured:
            refusals |= {401: blocks.ERRORS_401, 403: blocks.ERRORS_403}
        if op.parameters:
            refusals[404] = blocks.ERRORS_404
        if op.limited:
            refusals[429] = blocks.ERRORS_429
        refusals |= {status: blocks.problem_response(text) for status, text in op.refusals.items()}
        responses |= {str(status): refusals[status] for status in sorted(refusals)}
        spec: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            **({"description": op.description} if op.description else {}),
            "security": [{"bearerAuth": []}] if secured else [],
        }
        parameters = [*op.parameters, *(_query_parameters(op.query) if op.query is not None else [])]
        if parameters:
            spec["parameters"] = parameters
        if op.body is not None:
            spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body)}}}
        spec["responses"] = responses
        found.setdefault(op.path, {})[op.method] = spec
    return found
