"""The promotional posts API (``/api/v1/posts``) and its part of the OpenAPI document.

Images travel as JSON, ``images: [{filename, content_base64, alt_text}]``, and go through the
same upload checks as on the pages. Screening findings appear masked, never the match. A
decision names the ``version`` of the post it was made on: one made on an older version is
refused with 409. Reading a post changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, request, url_for

from registry import db
from registry.api.openapi import (
    BLANK,
    DATE,
    DATE_TIME,
    ERRORS_400,
    ERRORS_401,
    ERRORS_403,
    ERRORS_404,
    ERRORS_422,
    ERRORS_429,
    FILENAME_MAX,
    NULLABLE_TEXT,
    TIMESTAMP,
    _base64_file,
    _closed,
    _json,
    _nullable,
    _page_params,
    _paged,
    _problem,
    blank_or,
    branch,
    given,
    optional_text,
    or_null,
    query_text,
    required_text,
)
from registry.api.support import (
    as_file,
    decode_base64,
    iso,
    json_response,
    object_list,
    page_json,
)
from registry.api.views import (
    _is_unicode,
    _json_object,
    _query,
    _text_fields,
    _user,
    bp,
)
from registry.auth.permissions import Permission, requires
from registry.channels.platforms import Platform
from registry.errors import Invalid
from registry.extensions import limiter
from registry.posts import limits, services
from registry.posts.models import CONSENT_LOCATION_MAX, PromotionalPost
from registry.posts.workflow import DECISIONS, TRANSITIONS, PostAction, PostStatus
from registry.web.pagination import page_args, paginate
from registry.web.throttle import API_PER_CLIENT

QUERY_LIMITS = {"q": 200}
VERSION_MAX = 2_147_483_647


def post_body(post: PromotionalPost, *, with_history: bool = False) -> dict[str, Any]:
    """A post as its requester, the communications team and auditors see it (findings masked)."""
    body: dict[str, Any] = {
        "reference": post.reference,
        "status": post.status,
        "status_label": post.status_label,
        "text": post.text,
        "characters": limits.count(post.text),
        "reason": post.reason,
        "wished_for": post.wished_for.isoformat(),
        "consent_confirmed_at": iso(post.consent_confirmed_at),
        "consent_location": post.consent_location,
        "channels": [
            {
                "reference": t.channel.reference,
                "platform": t.channel.platform,
                "platform_label": t.channel.platform_label,
                "display_name": t.channel.display_name,
                "handle": t.channel.handle,
                "status": t.channel.status,
                "text_limit": limits.text_limit(t.channel.platform),
                "published_url": t.published_url,
            }
            for t in post.targets
        ],
        "images": [
            {
                "id": image.id,
                "position": image.position,
                "alt_text": image.alt_text,
                "content_type": image.upload.content_type,
                "size": image.upload.size,
                "url": url_for("posts.image", reference=post.reference, image_id=image.id),
            }
            for image in post.images
        ],
        "findings": [
            {
                "field": f.field,
                "image": f.image_position,
                "kind": f.kind,
                "label": f.label,
                "start": f.start_offset,
                "end": f.end_offset,
                "masked": f.masked,
            }
            for f in post.findings
        ],
        "findings_accepted": (
            {
                "by": post.findings_accepted_by.name if post.findings_accepted_by else "",
                "at": iso(post.findings_accepted_at),
                "reason": post.findings_acceptance,
            }
            if post.findings_accepted
            else None
        ),
        "requested_by": {"name": post.requester.name, "email": post.requester.email},
        "created_at": iso(post.created_at),
        "updated_at": iso(post.updated_at),
        "status_changed_at": iso(post.status_changed_at),
        "scheduled_for": iso(post.scheduled_for),
        "published_at": iso(post.published_at),
        "version": post.version,
        "links": {
            "self": url_for("api.get_post", reference=post.reference),
            "html": url_for("posts.detail", reference=post.reference),
        },
    }
    if with_history:
        body["history"] = [
            {
                "action": step.action,
                "from_status": step.from_status,
                "to_status": step.to_status,
                "actor": step.actor.name,
                "occurred_at": iso(step.occurred_at),
                "reason": step.reason,
            }
            for step in services.history(post)
        ]
    return body


def _one(post: PromotionalPost, status: int = 200):
    return json_response(post_body(post, with_history=True), status)


# --- reading the request body ----------------------------------------------------------------------


def _version(body: dict[str, Any], *, required: bool) -> int | None:
    """The ``version`` of the post the caller read (``version`` in each post they are given)."""
    value = body.get("version")
    if value is None:
        if required:
            raise Invalid(
                {
                    "version": "Give the version of the post you read (its version field), so that a post "
                    "changed since is not decided unseen."
                }
            )
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema counts 3.0 as an integer
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= VERSION_MAX:
        raise Invalid({"version": "version must be the post's version as you read it: a whole number from 1."})
    return value


def _images(body: dict[str, Any]) -> list[services.NewImage]:
    """``images: [{filename, content_base64, alt_text}]`` as new images for the upload checks
    (the first is slot 1). Each file is checked by its content when stored, as on the pages."""
    given = object_list(
        body,
        "images",
        most=services.MAX_IMAGES,
        keys="filename, content_base64 and alt_text",
        too_many=f"A post can have at most {services.MAX_IMAGES} images.",
    )
    errors: dict[str, str] = {}
    added = []
    for n, item in enumerate(given):
        where = f"images.{n}"
        name, content, alt = item.get("filename"), item.get("content_base64"), item.get("alt_text")
        if not isinstance(name, str) or not name.strip() or len(name) > FILENAME_MAX or not _is_unicode(name):
            errors[f"{where}.filename"] = (
                f"Image {n + 1} needs a filename of at most {FILENAME_MAX} characters, such as clinic.png."
            )
        if not isinstance(alt, str) or not _is_unicode(alt):
            errors[f"{where}.alt_text"] = f"Describe image {n + 1} for people who cannot see it: alt_text must be text."
        data = decode_base64(content) if isinstance(content, str) else None
        if not isinstance(content, str):
            errors[f"{where}.content_base64"] = (
                f"Image {n + 1}: content_base64 must be the file's content, base64-encoded."
            )
        elif data is None:
            errors[f"{where}.content_base64"] = f"Image {n + 1}: content_base64 is not valid base64."
        if data is not None and not any(key.startswith(f"{where}.") for key in errors):
            added.append(services.NewImage(file=as_file(name, data), alt_text=alt, slot=n + 1))
    if errors:
        raise Invalid(errors)
    return added


def _ids(body: dict[str, Any], name: str) -> list[int]:
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, list):
        value = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]  # 3.0 is an integer
    if (
        not isinstance(value, list)
        or len(value) > services.MAX_IMAGES
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= VERSION_MAX for v in value)
    ):
        raise Invalid(
            {
                name: f"{name} must be a list of at most {services.MAX_IMAGES} image ids (whole numbers), "
                "as in the post's images."
            }
        )
    return value


def _alt_texts(body: dict[str, Any]) -> dict[int, str]:
    value = body.get("alt_texts")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k.isdigit() and len(k) <= 9 and isinstance(v, str) and _is_unicode(v)
        for k, v in value.items()
    ):
        raise Invalid(
            {
                "alt_texts": "alt_texts must be an object giving an image's id and its new description, "
                'such as {"12": "The clinic\'s entrance"}.'
            }
        )
    return {int(k): v for k, v in value.items()}


FIELD_PATTERNS = (
    (re.compile(r"^image_(\d+)$"), lambda n: f"images.{int(n) - 1}.content_base64"),
    (re.compile(r"^alt_(\d+)$"), lambda n: f"images.{int(n) - 1}.alt_text"),
    (re.compile(r"^keep_(\d+)_alt$"), lambda n: f"alt_texts.{n}"),
)


def _api_fields(exc: Invalid) -> Invalid:
    """The service names the form's fields (``image_1``, ``alt_1``, ``keep_12_alt``); the API
    names what was sent (``images.0.content_base64``, ``images.0.alt_text``, ``alt_texts.12``)."""
    renamed: dict[str, str] = {}
    for name, message in exc.errors.items():
        for pattern, rename in FIELD_PATTERNS:
            match = pattern.match(name)
            if match:
                name = rename(match.group(1))
                break
        renamed[name] = message
    return Invalid(renamed)


def _with_url_fields(exc: Invalid) -> Invalid:
    """The service names a channel's address ``url_CH-0001``; the API calls it ``urls.CH-0001``."""
    if not any(name.startswith("url_") for name in exc.errors):
        return exc
    return Invalid(
        {
            (f"urls.{name.removeprefix('url_')}" if name.startswith("url_") else name): message
            for name, message in exc.errors.items()
        }
    )


@bp.route("/posts")
@requires(Permission.POST_REQUEST)
@limiter.limit(API_PER_CLIENT)
def list_posts():
    filters, (page, per_page) = _query(
        QUERY_LIMITS,
        lambda: services.PostFilters.parse(request.args, strict=True),
        lambda: page_args(25, strict=True),
    )
    result = paginate(db.session(), services.search(filters, _user()), page, per_page)
    return jsonify(page_json(result, [post_body(p) for p in result.items]))


@bp.route("/posts", methods=["POST"])
@requires(Permission.POST_REQUEST)
@limiter.limit(API_PER_CLIENT)
def create_post():
    body = _json_object()
    data = services.PostProposal.from_mapping(body)
    images = _images(body)
    try:
        post = services.propose(data, _user(), images)
    except Invalid as exc:
        raise _api_fields(exc) from None
    response = _one(post, 201)
    response.headers["Location"] = url_for("api.get_post", reference=post.reference)
    return response


@bp.route("/posts/<reference>")
@requires(Permission.POST_REQUEST)
@limiter.limit(API_PER_CLIENT)
def get_post(reference: str):
    return _one(services.get_visible(reference, _user()))


@bp.route("/posts/<reference>/revision", methods=["POST"])
@requires(Permission.POST_REQUEST)
@limiter.limit(API_PER_CLIENT)
def revise_post(reference: str):
    """The requester changes their post (fields not given stay as they are): while it waits for a
    decision, or, when changes were asked for, making them and resubmitting it."""
    post = services.get_visible(reference, _user())
    body = _json_object()
    data = services.PostProposal.from_mapping(body, base=services.PostProposal.of(post))
    note = _text_fields(body, ("note",))["note"]
    added = _images(body)
    removed = set(_ids(body, "remove_images"))
    alt_texts = _alt_texts(body)
    known = {image.id for image in post.images}
    kept = [
        services.KeptImage(
            image_id=image.id, alt_text=alt_texts.get(image.id, image.alt_text), remove=image.id in removed
        )
        for image in post.images
    ]
    kept += [
        services.KeptImage(image_id=i, alt_text="", remove=True) for i in sorted((removed | set(alt_texts)) - known)
    ]
    try:
        revised = services.revise(post, data, _user(), kept=kept, added=added, note=note)
    except Invalid as exc:
        raise _api_fields(exc) from None
    return _one(revised)


@bp.route("/posts/<reference>/decision", methods=["POST"])
@requires(Permission.POST_DECIDE)
@limiter.limit(API_PER_CLIENT)
def decide_post(reference: str):
    post = services.get_visible(reference, _user())
    body = _json_object()
    fields = _text_fields(body, ("decision", "reason"))
    if fields["decision"] not in {d.value for d in DECISIONS}:
        raise Invalid({"decision": "Give a decision: approve, request_changes or reject."})
    version = _version(body, required=True)
    return _one(services.transition(post, fields["decision"] or "", _user(), reason=fields["reason"], version=version))


@bp.route("/posts/<reference>/findings-acceptance", methods=["POST"])
@requires(Permission.POST_DECIDE)
@limiter.limit(API_PER_CLIENT)
def accept_post_findings(reference: str):
    post = services.get_visible(reference, _user())
    body = _json_object()
    fields = _text_fields(body, ("reason",))
    version = _version(body, required=True)
    try:
        services.accept_findings(post, _user(), fields["reason"], version=version)
    except Invalid as exc:
        raise Invalid({"reason": "; ".join(exc.errors.values())}) from None
    return _one(services.get_post(reference))


@bp.route("/posts/<reference>/schedule", methods=["POST"])
@requires(Permission.POST_DECIDE)
@limiter.limit(API_PER_CLIENT)
def schedule_post(reference: str):
    post = services.get_visible(reference, _user())
    body = _json_object()
    fields = _text_fields(body, ("scheduled_for", "notes"))
    moment = services.parse_moment(fields["scheduled_for"], "scheduled_for") if fields["scheduled_for"] else None
    version = _version(body, required=False)
    try:
        scheduled = services.transition(
            post,
            PostAction.SCHEDULE.value,
            _user(),
            reason=fields["notes"],
            scheduled_for=moment,
            version=version,
        )
    except Invalid as exc:
        raise Invalid(
            {("notes" if name == "reason" else name): message for name, message in exc.errors.items()}
        ) from None
    return _one(scheduled)


@bp.route("/posts/<reference>/publish", methods=["POST"])
@requires(Permission.POST_DECIDE)
@limiter.limit(API_PER_CLIENT)
def publish_post(reference: str):
    post = services.get_visible(reference, _user())
    body = _json_object()
    fields = _text_fields(body, ("notes",))
    urls = body.get("urls")
    if not isinstance(urls, dict) or not all(isinstance(value, str) for value in urls.values()):
        raise Invalid({"urls": "urls must be an object giving each channel's reference and the post's address on it."})
    version = _version(body, required=False)
    try:
        published = services.transition(
            post,
            PostAction.PUBLISH.value,
            _user(),
            reason=fields["notes"],
            urls=urls,
            version=version,
        )
    except Invalid as exc:
        exc = _with_url_fields(exc)
        raise Invalid(
            {("notes" if name == "reason" else name): message for name, message in exc.errors.items()}
        ) from None
    return _one(published)


@bp.route("/posts/<reference>/withdraw", methods=["POST"])
@requires(Permission.POST_REQUEST)
@limiter.limit(API_PER_CLIENT)
def withdraw_post(reference: str):
    post = services.get_visible(reference, _user())
    fields = _text_fields(_json_object(), ("reason",))
    return _one(services.transition(post, PostAction.WITHDRAW.value, _user(), reason=fields["reason"]))


# --- the OpenAPI document -------------------------------------------------------------------------

REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The post's reference, such as PP-2026-0007.",
    "schema": {"type": "string", "pattern": "^PP-[0-9]{4}-[0-9]{1,9}$", "examples": ["PP-2026-0001"]},
}
ERRORS_409 = _problem(
    "The post's state, the four-eyes rule, unaccepted screening findings or an inactive channel do not allow this; "
    "or the post has changed since the version given."
)
ERRORS_413 = _problem("The body is larger than the upload size limit.")
VERSION = {
    "type": "integer",
    "minimum": 1,
    "maximum": VERSION_MAX,
    "description": "The post's version as you read it (its version field); 409 if it has changed since.",
}


def openapi_schemas() -> dict[str, Any]:
    statuses = [s.value for s in PostStatus]
    post = _closed(
        {
            "reference": {"type": "string", "pattern": "^PP-[0-9]{4}-[0-9]+$"},
            "status": {"type": "string", "enum": statuses},
            "status_label": {"type": "string"},
            "text": {"type": "string"},
            "characters": {"type": "integer", "minimum": 0},
            "reason": {"type": "string"},
            "wished_for": {"type": "string", "format": "date"},
            "consent_confirmed_at": TIMESTAMP,
            "consent_location": {"type": "string"},
            "channels": {
                "type": "array",
                "items": _closed(
                    {
                        "reference": {"type": "string"},
                        "platform": {"type": "string", "enum": [p.value for p in Platform]},
                        "platform_label": {"type": "string"},
                        "display_name": {"type": "string"},
                        "handle": {"type": "string"},
                        "status": {"type": "string"},
                        "text_limit": {
                            "type": ["integer", "null"],
                            "description": "The platform's length limit; null when it has none.",
                        },
                        "published_url": NULLABLE_TEXT,
                    }
                ),
            },
            "images": {
                "type": "array",
                "items": _closed(
                    {
                        "id": {"type": "integer"},
                        "position": {"type": "integer", "minimum": 1},
                        "alt_text": {"type": "string"},
                        "content_type": {"type": "string"},
                        "size": {"type": "integer"},
                        "url": {"type": "string", "description": "Download it (signed-in users who may see the post)."},
                    }
                ),
            },
            "findings": {
                "type": "array",
                "description": "Possible patient identifiers found by the screening, masked: never the match itself.",
                "items": _closed(
                    {
                        "field": {"type": "string", "enum": ["text", "alt_text"]},
                        "image": {"type": ["integer", "null"], "description": "The image's position, for alt_text."},
                        "kind": {"type": "string"},
                        "label": {"type": "string"},
                        "start": {"type": "integer", "minimum": 0},
                        "end": {"type": "integer", "minimum": 1},
                        "masked": {"type": "string"},
                    }
                ),
            },
            "findings_accepted": {
                **_closed({"by": {"type": "string"}, "at": TIMESTAMP, "reason": {"type": "string"}}),
                "type": ["object", "null"],
                "description": "Why the communications team found the findings acceptable; null until recorded.",
            },
            "requested_by": _closed({"name": {"type": "string"}, "email": {"type": "string"}}),
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "status_changed_at": TIMESTAMP,
            "scheduled_for": _nullable(TIMESTAMP),
            "published_at": _nullable(TIMESTAMP),
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": "Goes up with every change the requester makes; give it with a decision.",
            },
            "links": _closed({"self": {"type": "string"}, "html": {"type": "string"}}),
            "history": {
                "type": "array",
                "description": "Every step, oldest first (only on a single post).",
                "items": _closed(
                    {
                        "action": {"type": "string"},
                        "from_status": {"type": ["string", "null"]},
                        "to_status": {"type": "string"},
                        "actor": {"type": "string"},
                        "occurred_at": TIMESTAMP,
                        "reason": NULLABLE_TEXT,
                    }
                ),
            },
        },
        optional=("history",),
        description="A promotional post request, as its requester, the communications team and auditors see it.",
    )
    image = _base64_file(
        "The image itself: PNG, JPEG, GIF or WebP, checked by its content.",
        filename_max=FILENAME_MAX,
        alt_text=required_text(
            limits.ALT_TEXT_MAX,
            description="What the image shows, for people who cannot see it (screened like the text).",
        ),
    )
    fields: dict[str, Any] = {
        "text": required_text(
            limits.TEXT_MAX,
            description="At most the limit of the strictest chosen channel's platform "
            "(a line break counts as one character).",
            examples=["Our flu clinic for staff opens on Tuesday in the main outpatients hall."],
        ),
        "channels": {
            "type": "array",
            "minItems": 1,
            "maxItems": services.MAX_CHANNELS,
            "items": {"type": "string", "pattern": "^CH-[0-9]{1,9}$"},
            "description": "References of active channels.",
        },
        "wished_for": {**DATE, "description": "Today or later."},
        "reason": required_text(services.REASON_MAX, examples=["To let staff know in good time."]),
        "consent_confirmed": {
            "type": "boolean",
            "const": True,
            "description": "Everyone identifiable in the post has consented (or no one can be identified).",
        },
        "consent_location": optional_text(
            CONSENT_LOCATION_MAX,
            description="Where the signed consent forms are kept; required when the post "
            "has images or its text names someone.",
        ),
        "images": {
            "type": ["array", "null"],
            "maxItems": services.MAX_IMAGES,
            "items": {"$ref": "#/components/schemas/PostImageUpload"},
            "description": f"Images to add, each with its description (at most {services.MAX_IMAGES} in all).",
        },
    }
    changed = {
        name: {**schema, "type": [schema["type"], "null"]}
        for name, schema in fields.items()
        if name in ("text", "channels", "reason")
    }
    # A new post with images must say where their consent forms are.
    images_need_consent_location = [
        {"properties": {"images": {"type": ["array", "null"], "maxItems": 0}}},
        {"required": ["consent_location"], "properties": {"consent_location": given({})}},
    ]
    reasons = [a.value for a in DECISIONS if TRANSITIONS[a].reason_required]
    return {
        "PromotionalPost": post,
        "PostImageUpload": image,
        "PostRequest": {
            "type": "object",
            "required": ["text", "channels", "wished_for", "reason", "consent_confirmed"],
            "description": (
                "A proposed post, with its images (each file checked by its content, as on the pages). "
                "The text and each image's description are screened for patient identifiers; the post is saved "
                "even when some are found, and the findings (masked) are in the answer."
            ),
            "properties": fields,
            "anyOf": images_need_consent_location,
        },
        "PostRevision": {
            "type": "object",
            "required": ["consent_confirmed"],
            "description": (
                "The requester's change to their post: only the fields given (not null) change, and consent is "
                "confirmed again. A post waiting for changes goes back to the communications team (resubmitted); one "
                "waiting for a decision stays so. Either way it is screened again, any acceptance of earlier "
                "findings is cleared and its version goes up."
            ),
            "properties": {
                **fields,
                **changed,
                "wished_for": or_null(DATE, description="Today or later."),
                "images": {
                    **fields["images"],
                    "description": f"Images to add after those kept (at most {services.MAX_IMAGES} in all).",
                },
                "remove_images": {
                    "type": ["array", "null"],
                    "maxItems": services.MAX_IMAGES,
                    "items": {"type": "integer", "minimum": 1, "maximum": VERSION_MAX},
                    "description": "Ids of the post's images to remove.",
                },
                "alt_texts": {
                    "type": ["object", "null"],
                    "propertyNames": {"pattern": "^[0-9]{1,9}$"},
                    "additionalProperties": required_text(limits.ALT_TEXT_MAX),
                    "description": "A kept image's id → its new description.",
                },
                "note": optional_text(services.REASON_MAX, description="What has changed (kept with a resubmission)."),
            },
        },
        "PostDecision": {
            "type": "object",
            "required": ["decision", "version"],
            "properties": {
                "decision": {"type": "string", "enum": [d.value for d in DECISIONS]},
                "reason": optional_text(
                    services.REASON_MAX, description="Required to " + " and to ".join(reasons) + "."
                ),
                "version": VERSION,
            },
            "anyOf": [
                branch("decision", reasons, needs=["reason"], reason=given({})),
                branch("decision", [d.value for d in DECISIONS if d.value not in reasons]),
            ],
        },
        "PostFindingsAcceptance": {
            "type": "object",
            "required": ["reason", "version"],
            "properties": {
                "reason": required_text(services.REASON_MAX),
                "version": VERSION,
            },
        },
        "PostSchedule": {
            "type": "object",
            "required": ["scheduled_for"],
            "properties": {
                "scheduled_for": {
                    **DATE_TIME,
                    "description": "In the future. The server reads a time without an offset as UK time.",
                    "examples": ["2099-06-01T09:00:00+01:00"],
                },
                "notes": optional_text(services.REASON_MAX),
                "version": {
                    **VERSION,
                    "type": ["integer", "null"],
                    "description": "Optional: the post's version as you read it.",
                },
            },
        },
        "PostPublication": {
            "type": "object",
            "required": ["urls"],
            "properties": {
                "urls": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": f"^[{BLANK}]*[Cc][Hh]-[0-9]{{4,}}[{BLANK}]*$"},
                    "additionalProperties": required_text(services.URL_MAX),
                    "description": (
                        "Every target channel's reference → the post's address on it, which must be on that "
                        "channel's platform (and account, where the address shows it)."
                    ),
                },
                "notes": optional_text(services.REASON_MAX),
                "version": {
                    **VERSION,
                    "type": ["integer", "null"],
                    "description": "Optional: the post's version as you read it.",
                },
            },
        },
        "PostWithdrawal": {
            "type": "object",
            "properties": {"reason": optional_text(services.REASON_MAX)},
        },
    }


def openapi_paths() -> dict[str, Any]:
    bearer = [{"bearerAuth": []}]
    one = _json({"$ref": "#/components/schemas/PromotionalPost"}, "The post, with its history.")

    def action(operation: str, summary: str, schema: str, who: str, **extra: Any) -> dict[str, Any]:
        return {
            "post": {
                "operationId": operation,
                "summary": f"{summary} ({who}).",
                "security": bearer,
                "parameters": [REFERENCE],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
                },
                "responses": {
                    "200": one,
                    "400": ERRORS_400,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "404": ERRORS_404,
                    "409": ERRORS_409,
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                    **extra,
                },
            }
        }

    return {
        "/api/v1/posts": {
            "get": {
                "operationId": "listPosts",
                "summary": "Promotional posts the caller may see (their own; all of them for comms and auditors).",
                "security": bearer,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": blank_or(s.value for s in PostStatus),
                        "description": "Empty means any status.",
                    },
                    {
                        "name": "q",
                        "in": "query",
                        "schema": query_text(QUERY_LIMITS["q"]),
                        "description": "Text in the post, or its reference.",
                    },
                    *_page_params(25),
                ],
                "responses": {
                    "200": _json(_paged("#/components/schemas/PromotionalPost"), "A page of posts, newest first."),
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            },
            "post": {
                "operationId": "proposePost",
                "summary": "Propose a promotional post, with its images (any signed-in user).",
                "security": bearer,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PostRequest"}}},
                },
                "responses": {
                    "201": {
                        **_json(
                            {"$ref": "#/components/schemas/PromotionalPost"},
                            "The post, waiting for a decision, with any screening findings (masked).",
                        ),
                        "headers": {
                            "Location": {
                                "required": True,
                                "schema": {"type": "string"},
                                "description": "The new post's API address.",
                            }
                        },
                    },
                    "400": ERRORS_400,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "413": ERRORS_413,
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            },
        },
        "/api/v1/posts/{reference}": {
            "get": {
                "operationId": "getPost",
                "summary": "One post with its history (its requester, comms and auditors; 404 for anyone else).",
                "security": bearer,
                "parameters": [REFERENCE],
                "responses": {
                    "200": one,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "404": ERRORS_404,
                    "429": ERRORS_429,
                },
            }
        },
        "/api/v1/posts/{reference}/revision": action(
            "revisePost",
            "Change one's own post while it waits for a decision, or make the changes asked for and resubmit it",
            "PostRevision",
            "its requester",
            **{"413": ERRORS_413},
        ),
        "/api/v1/posts/{reference}/decision": action(
            "decidePost",
            "Approve, ask for changes to, or reject a post waiting for a decision",
            "PostDecision",
            "comms; not the requester",
        ),
        "/api/v1/posts/{reference}/findings-acceptance": action(
            "acceptPostFindings",
            "Record why the possible patient identifiers found are acceptable, so the post can be approved",
            "PostFindingsAcceptance",
            "comms; not the requester",
        ),
        "/api/v1/posts/{reference}/schedule": action(
            "schedulePost",
            "Schedule an approved post, or move a scheduled one",
            "PostSchedule",
            "comms",
        ),
        "/api/v1/posts/{reference}/publish": action(
            "publishPost",
            "Record that a post is live, with its address on each channel",
            "PostPublication",
            "comms",
        ),
        "/api/v1/posts/{reference}/withdraw": action(
            "withdrawPost",
            "Withdraw a post that is not yet published",
            "PostWithdrawal",
            "its requester",
        ),
    }
