"""What the API of every kind of request shares, written once: how a person, a request's links, a
step of its history and a stored file look; the page parameters; and the routes each kind has
(list, ask, read, move along its lifecycle, download a file), declared by :class:`Routes`.

A kind's ``api.py`` keeps only what is its own: how one of its requests looks, what asking for one
holds, its filters, and the rows of its transitions endpoint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from flask import request, url_for
from flask.wrappers import Response
from pydantic import ConfigDict, Field, WithJsonSchema
from sqlalchemy import Select

from registry import db
from registry.api import blocks
from registry.api.operations import Answer, Body, Described, Out, Paged, Query, Timestamp, one_of, operation, reply
from registry.api.support import acting_user, room_for_base64
from registry.api.transitions import ActionBody
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.errors import NotPermitted
from registry.uploads import services as uploads
from registry.uploads.models import Upload, UploadType
from registry.web.pagination import MAX_PER_PAGE, page_args, paginate
from registry.web.throttle import API_PER_CLIENT

R = TypeVar("R")
D = TypeVar("D")

# --- how the kinds' requests look --------------------------------------------------------------


class Person(Out):
    name: str
    email: str

    @classmethod
    def of(cls, user: User) -> Person:
        return cls(name=user.name, email=user.email)


class Links(Out):
    self: str
    html: str

    @classmethod
    def of(cls, name: str, pages: str, reference: str, **more: Any) -> Self:
        """Request ``reference``'s addresses: in the API (``api.get_{name}``), and its page (``{pages}.detail``)."""
        return cls(
            self=url_for(f"api.get_{name}", reference=reference),
            html=url_for(f"{pages}.detail", reference=reference),
            **more,
        )


def _status_enums(schema: dict[str, Any], model: type[Any]) -> None:
    if model.statuses:
        schema["properties"]["from_status"] = {"type": ["string", "null"], "enum": [*model.statuses, None]}
        schema["properties"]["to_status"] = {"type": "string", "enum": list(model.statuses)}


class Step(Out):
    """A step of a request's history: each kind names its ``statuses`` and adds its note."""

    model_config = ConfigDict(json_schema_extra=_status_enums)
    statuses: ClassVar[Sequence[str]] = ()

    action: str
    from_status: str | None
    to_status: str
    actor: str
    occurred_at: Timestamp

    @classmethod
    def of(cls, step: Any, **given: Any) -> Self:
        return cls.taking(step, actor=step.actor.name, **given)


class StoredFile(Out):
    """A file kept with a request (artwork, a screenshot), downloaded from ``url``."""

    id: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    name: str
    content_type: Annotated[str, one_of(t.value for t in UploadType)]
    size: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    sha256: Annotated[str, WithJsonSchema({"type": "string", "pattern": "^[0-9a-f]{64}$"})]
    added_at: Timestamp
    url: str

    @classmethod
    def of(cls, kept: Any, url: str, **given: Any) -> Self:
        """``kept`` (a row holding ``upload``, ``upload_id`` and ``added_at``) as the API shows it."""
        return cls.taking(
            kept.upload, id=kept.upload_id, name=kept.upload.original_name, added_at=kept.added_at, url=url, **given
        )


# --- what a request holds --------------------------------------------------------------------------


def stated(body: Body, kind: Callable[..., D], base: D | None = None) -> D:
    """The dataclass ``kind`` as ``body`` states it: the fields given (not null); with ``base``,
    the fields not given keep its values."""
    names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    given = {name: value for name, value in body.model_dump(include=names).items() if value is not None}
    return dataclasses.replace(base, **given) if base is not None else kind(**given)  # type: ignore[type-var]


class PageQuery(Query):
    """The page of a list: ``page`` and ``per_page`` (empty means the first page of 25)."""

    page: Annotated[str, Described(blocks.page_number(1_000_000, 1)), Field(description="Empty means 1.")] = ""
    per_page: Annotated[str, Described(blocks.page_number(MAX_PER_PAGE, 25)), Field(description="Empty means 25.")] = ""


#: Where files travel base64-encoded inside the JSON body (artwork, screenshots).
SIZE_NOTE = (
    "Each file, and all the files together, may be up to the upload size limit (REGISTRY_MAX_UPLOAD_MB, "
    "10 MB unless configured otherwise) before base64 encoding: the request body may be 4/3 of the "
    "limit plus 512 KB, room for the files base64-encoded and the other fields."
)
TOO_BIG = (
    "The body is larger than 4/3 of the upload size limit plus 512 KB: the files, before base64 "
    "encoding, add up to more than the upload size limit (10 MB unless configured otherwise)."
)


# --- the routes ------------------------------------------------------------------------------------

#: A file sent as a download: its answer in the document.
DOWNLOAD = Answer(None, blocks.FILE_DOWNLOAD["description"], content=blocks.FILE_DOWNLOAD["content"])


@dataclass(frozen=True)
class Routes(Generic[R]):
    """The routes of one kind of request under ``/api/v1{path}``.

    The path names the endpoints (``/media-contacts``: ``get_media_contact``) and operation ids
    (``getMediaContact``). ``find`` is the request called ``reference`` if the caller may see it (404, or
    403, otherwise); ``show`` answers with one request, with its history, as ``model`` (described
    as ``shown``); ``reference_of`` is the reference its address takes.
    """

    path: str
    permission: Permission
    reference: Mapping[str, Any]
    find: Callable[[str, User], R]
    show: Callable[[R], Out]
    model: type[Out]
    shown: str
    reference_of: Callable[[R], str] = field(default=lambda found: str(getattr(found, "reference")))  # noqa: B009

    @property
    def name(self) -> str:
        return self.path.strip("/").removesuffix("s").replace("-", "_")

    @property
    def label(self) -> str:
        return self.name.title().replace("_", "")

    def one(self, found: R, status: int = 200) -> Response:
        return reply(self.show(found), status)

    def visible(self, reference: str) -> R:
        return self.find(reference, acting_user())

    @property
    def answer(self) -> Answer:
        return Answer(self.model, self.shown)

    def _declare(
        self, method: str, suffix: str, view: Callable[..., Response], name: str, id: str, summary: str, **more: Any
    ) -> None:
        """Declare ``method {path}{suffix}``, with the reference (and a file's id) as its path parameters."""
        view.__name__ = name
        parameters = (self.reference, *([blocks.UPLOAD_ID_PARAM] if "upload_id" in suffix else [])) if suffix else ()
        more.setdefault("answers", {200: self.answer})
        more["permission"] = more.get("permission") or self.permission
        operation(
            method, self.path + suffix, id=id, summary=summary, limit=API_PER_CLIENT, parameters=parameters, **more
        )(view)

    def listing(
        self,
        summary: str,
        query: type[PageQuery],
        page: type[Paged[Any]],
        filters: Callable[..., Any],
        search: Callable[[Any, User], Select[Any]],
        item: Callable[[R], Out],
    ) -> None:
        """``GET {path}``: a page of the requests the caller may see. ``filters`` reads the query string
        (``XFilters.parse``: a bad filter is refused with 422, with the query's other mistakes), ``search``
        finds the requests and ``item`` shows each."""

        def view() -> Response:
            _, (chosen, (number, per_page)) = query.read(
                lambda: filters(request.args, strict=True), lambda: page_args(25, strict=True)
            )
            result = paginate(db.session(), search(chosen, acting_user()), number, per_page)
            return reply(page.of(result, [item(one) for one in result.items]))

        answers = {200: Answer(page, "A page of them, newest first.")}
        self._declare(
            "GET", "", view, f"list_{self.name}s", f"list{self.label}s", summary, query=query, answers=answers
        )

    def asking(
        self,
        id: str,
        summary: str,
        body: type[Body],
        make: Callable[[Any], R],
        described: str,
        *,
        files: bool = False,
        refusals: Mapping[int, str] | None = None,
        links: Mapping[str, Any] | None = None,
        permission: Permission | None = None,
    ) -> None:
        """``POST {path}``: ask for a new request, answered with 201 and its ``Location``. ``files``:
        the body may carry files base64-encoded, so it may be larger (413 beyond that). ``permission``:
        where asking needs another than the kind's."""

        def view() -> Response:
            if files:
                room_for_base64()
            made = make(body.read())
            response = self.one(made, 201)
            response.headers["Location"] = url_for(f"api.get_{self.name}", reference=self.reference_of(made))
            return response

        location = {"required": True, "schema": {"type": "string"}, "description": "The new request's API address."}
        answers = {201: Answer(self.model, described, headers={"Location": location}, links=links or {})}
        refused = {**({413: TOO_BIG} if files else {}), **(refusals or {})}
        self._declare(
            "POST",
            "",
            view,
            f"create_{self.name}",
            id,
            summary,
            body=body,
            answers=answers,
            refusals=refused,
            permission=permission,
        )

    def changing(
        self,
        segment: str,
        name: str,
        id: str,
        summary: str,
        body: type[Body],
        change: Callable[[R, Any, User], R],
        refusals: Mapping[int, str],
        *,
        files: bool = False,
    ) -> None:
        """``POST {path}/{reference}/{segment}``: the requester sends a new version of their request."""

        def view(reference: str) -> Response:
            if files:
                room_for_base64()
            found = self.visible(reference)
            return self.one(change(found, body.read(), acting_user()))

        refused = {**({413: TOO_BIG} if files else {}), **refusals}
        self._declare("POST", f"/<reference>/{segment}", view, name, id, summary, body=body, refusals=refused)

    def reading(self, summary: str) -> None:
        """``GET {path}/{reference}``: one request, with its history."""

        def view(reference: str) -> Response:
            return self.one(self.visible(reference))

        self._declare("GET", "/<reference>", view, f"get_{self.name}", f"get{self.label}", summary)

    def moving(self, summary: str, body: type[ActionBody], conflict: str, permission: Permission | None = None) -> None:
        """``POST {path}/{reference}/transitions``: the action ``body`` names, taken on the request (see
        :mod:`registry.api.transitions` for the order of refusals), needing ``permission`` when every
        action does (by default, the kind's)."""

        def view(reference: str) -> Response:
            chosen = body.chosen()
            if chosen is not None and chosen.permission is not None and not acting_user().can(chosen.permission):
                raise NotPermitted(chosen.refusal)
            found = self.visible(reference)
            fields, action = body.taken()
            taken = {name: getattr(fields, name) for name in {**action.needs, **action.needed}}
            return self.one(action.take(found, fields.action, acting_user(), **taken))

        name, id = f"transition_{self.name}", f"transition{self.label}"
        self._declare(
            "POST",
            "/<reference>/transitions",
            view,
            name,
            id,
            summary,
            body=body,
            refusals={409: conflict},
            permission=permission,
        )

    def file(self, segment: str, name: str, id: str, summary: str, kept: Callable[[R, int], Upload]) -> None:
        """``GET {path}/{reference}/{segment}/{upload_id}``: one of the request's files, as a download."""

        def view(reference: str, upload_id: int) -> Response:
            return uploads.send(kept(self.visible(reference), upload_id))

        suffix = f"/<reference>/{segment}/<int(max=2147483647):upload_id>"
        self._declare("GET", suffix, view, name, id, summary, answers={200: DOWNLOAD})
