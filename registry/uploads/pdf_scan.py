"""What an uploaded PDF holds besides pages: qpdf (through pikepdf) reads every object,
those packed in object streams included, in a child process with limits.

A PDF is refused when anything in it can act rather than be looked at. The check
walks every object of the file (``Pdf.objects`` lists the objects of object streams
as well as the others), and the trailer, and looks in each dictionary, wherever it
is, for:

* a script: ``/JS``, ``/JavaScript`` (keys, the name tree, or an action's ``/S``);
* an action that runs by itself: ``/OpenAction`` holding an action (a destination
  array, which only opens the document at a page, is accepted) and ``/AA``
  (additional actions of the document, a page, an annotation or a form field);
* actions that reach outside the document (``/S`` of ``Launch``, ``SubmitForm``,
  ``ImportData``, ``GoToR``, ``GoToE``, ``URI``, or a ``Thread`` into another file),
  any ``/URI`` entry, and a stream whose data is in another file (``/F`` in a stream's
  dictionary);
* carried content: embedded files (``/EmbeddedFiles``, ``/EF``, ``/Type
  /EmbeddedFile``, file-attachment annotations), XFA forms (``/XFA``), rich media
  (``/RichMedia…``, ``RichMediaExecute``), sound and video (``Sound``, ``Movie``,
  ``Screen``, ``Rendition``, ``/Renditions``) and 3D content (which carries its
  own scripts);
* actions that change the document as it is read: ``Hide`` and ``ResetForm``. They
  run no code and reach nothing, but artwork and evidence have no use for them, and
  showing or hiding parts of a page on a click can show readers something other
  than what the reviewers saw.

Actions are allowed only where they are plainly harmless: ``GoTo`` (a page of the
same document: links, bookmarks), ``Named`` with ``NextPage``, ``PrevPage``,
``FirstPage`` or ``LastPage``, ``Thread`` within the document, ``SetOCGState``
(showing or hiding a layer) and ``Trans`` (a page transition). Any other action,
including kinds this list does not know, is refused.

qpdf is not allowed to guess. The file is opened without recovery, and any warning
qpdf gives while reading it (a repaired cross-reference, a wrong stream length, a
duplicated key) refuses the file: where qpdf guesses, a viewer may guess otherwise
and see objects that were never checked. Encrypted files are refused, because
what they hold cannot be checked without their password.

What is stored is what was checked. Even without a warning, viewers find objects qpdf
never reads: a linearized file's first-page cross-reference (read by Chrome's PDFium
and Firefox's pdf.js, which load a file a piece at a time) can name other objects than
the one ``startxref`` names, and pdf.js takes a packed object by its place in the
object stream where qpdf takes it by the number in the stream's index. So a clean file
is written again by qpdf from the objects it checked (:func:`_rewrite`): every stream's
data as it was (only an uncompressed one is compressed), one cross-reference, nothing
unreferenced, not linearized; that copy is what the caller stores, as images are
stored re-encoded.

Limits. qpdf keeps every object it parses (about 75 bytes for a two-byte number) and
inflates a whole object stream to parse it. Measured with qpdf 12.4 and no limits: a
10 MB file holding one array of five million numbers took 770 MB; a 0.1 MB file whose
object stream holds 100 MB of numbers took 7.4 GB and 23 s; a 1 MB file whose object
stream inflates to 1 GB took 5 GB and 28 s. So the check runs in a child process
(``python -I``, empty environment, no inherited files) limited to :data:`MEMORY_LIMIT`
of address space and :data:`CPU_SECONDS` of processor time, killed after
:data:`WALL_SECONDS`; each stream may inflate to :data:`OBJECT_STREAM_LIMIT` and the
object streams together too (measured before their objects are parsed, where qpdf
allows: one holding the catalogue is parsed on opening). A PDF over a limit is
refused as too large or complex to check, and a crash of qpdf on a hostile file ends
the child, not the web worker. With the limits, each of those files is refused in
0.3 to 2.2 s using at most 490 MB, and a file just under 10 MB that inflates to 10 GB
in 0.3 s and 110 MB; ordinary PDFs pass well inside them (2,000 pages with links and
bookmarks: 0.7 s and 43 MB; a 9 MB photograph: 0.25 s; 250,000 objects in 16 MB:
3.6 s and 280 MB). Starting the child costs about 0.2 s per PDF.
"""

from __future__ import annotations

import io
import json
import logging
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal, get_args

import pikepdf
from pikepdf import ObjectType

log = logging.getLogger(__name__)

MEMORY_LIMIT = 512 * 1024 * 1024
CPU_SECONDS = 10
WALL_SECONDS = 20
OBJECT_STREAM_LIMIT = 64 * 1024 * 1024

#: What was found, by reason code (recorded in the audit trail as ``pdf_<code>``), in plain
#: English; a refusal names them in this order.
FOUND = {
    "javascript": "it contains a script (JavaScript)",
    "open_action": "it runs an action as soon as it is opened (an /OpenAction)",
    "additional_actions": (
        "it runs actions by itself when a page or field is opened, closed or changed (additional actions, /AA)"
    ),
    "launch": "it can start a program or open a file on the computer (a Launch action)",
    "submit_form": "it sends what is typed into it to a web address (a SubmitForm action)",
    "import_data": "it loads data into its form from another file (an ImportData action)",
    "other_document": "it opens another document (a GoToR or GoToE action)",
    "uri": "it opens a web address when clicked (a link to a URI)",
    "external_stream": "it takes part of its content from another file or web address (an external stream)",
    "embedded_file": "it has a file embedded in it (an embedded file)",
    "xfa": "it has an XFA form",
    "rich_media": "it contains rich media such as Flash or video (RichMedia)",
    "media": "it plays sound or video (a Sound, Movie, Screen or Rendition)",
    "3d": "it contains 3D content, which can run scripts (3D)",
    "form_action": "it hides or clears parts of itself when clicked (a Hide or ResetForm action)",
    "action": "it runs an action of a kind that is not accepted",
}

_KEYS = {
    "/JS": "javascript",
    "/JavaScript": "javascript",
    "/AA": "additional_actions",
    "/URI": "uri",
    "/EmbeddedFiles": "embedded_file",
    "/EF": "embedded_file",
    "/XFA": "xfa",
    "/RichMediaContent": "rich_media",
    "/RichMediaSettings": "rich_media",
    "/Renditions": "media",
    "/3DD": "3d",
}
_TYPES = {"/EmbeddedFile": "embedded_file", "/Sound": "media", "/3D": "3d"}
_SUBTYPES = {
    "/FileAttachment": "embedded_file",
    "/RichMedia": "rich_media",
    "/Movie": "media",
    "/Sound": "media",
    "/Screen": "media",
    "/3D": "3d",
}
#: Action types (``/S``) refused wherever a dictionary carries them.
_REFUSED_ACTIONS = {
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/SubmitForm": "submit_form",
    "/ImportData": "import_data",
    "/GoToR": "other_document",
    "/GoToE": "other_document",
    "/URI": "uri",
    "/RichMediaExecute": "rich_media",
    "/Sound": "media",
    "/Movie": "media",
    "/Rendition": "media",
    "/GoTo3DView": "3d",
    "/Hide": "form_action",
    "/ResetForm": "form_action",
}
_HARMLESS_ACTIONS = frozenset({"/GoTo", "/Named", "/Thread", "/SetOCGState", "/Trans"})
_PAGE_TURNS = frozenset({"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"})
#: Keys whose dictionary value is an action (``/Next`` only inside an action: in a bookmark
#: it is the next bookmark).
_ACTION_KEYS = ("/A", "/PA", "/OpenAction")
_CONTAINERS = frozenset({ObjectType.dictionary, ObjectType.array, ObjectType.stream})
_DICTIONARIES = frozenset({ObjectType.dictionary, ObjectType.stream})


#: ``out_of_time``: stopped at the caller's shorter deadline (see :func:`check`), not for itself.
Outcome = Literal["clean", "active", "encrypted", "unreadable", "too_complex", "out_of_time"]


@dataclass(frozen=True)
class Verdict:
    """What the check concluded; when ``active``, ``found`` holds the codes of :data:`FOUND`
    (in its order) for what was found; when ``clean``, ``data`` is the file to store (never empty):
    the PDF as qpdf wrote it again from the objects it checked."""

    outcome: Outcome
    found: tuple[str, ...] = ()
    data: bytes = field(default=b"", repr=False)


def check(data: bytes, *, seconds: float | None = None) -> Verdict:
    """Check ``data`` (which starts ``%PDF-``) in a child process held to the limits.

    ``seconds``: what is left of the caller's own time for it, if less than
    :data:`WALL_SECONDS`; a check stopped then is ``out_of_time``. Never raises for
    anything in the file: a child that runs out of memory or time is ``too_complex``;
    one that crashes or answers nonsense is ``unreadable``.
    """
    wall = WALL_SECONDS if seconds is None else max(min(seconds, WALL_SECONDS), 0)
    try:
        done = subprocess.run(
            [sys.executable, "-I", __file__],
            input=data,
            capture_output=True,
            timeout=wall,
            env={},
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("A PDF check took longer than %.1f seconds and was stopped", wall)
        return Verdict("too_complex" if wall >= WALL_SECONDS else "out_of_time")
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        log.warning(
            "A PDF check used more than %d seconds of processor time and was stopped",
            CPU_SECONDS,
        )
        return Verdict("too_complex")
    try:
        if done.returncode != 0:
            raise ValueError(done.returncode)
        line, _, rewritten = done.stdout.partition(b"\n")
        answer = json.loads(line)
        verdict = Verdict(
            answer["outcome"],
            tuple(code for code in FOUND if code in answer["found"]),
            rewritten if answer["outcome"] == "clean" else b"",
        )
    except (ValueError, KeyError, TypeError):
        # Only the exit status: qpdf's messages can quote the file's content.
        log.warning("A PDF check ended without an answer (exit status %s)", done.returncode)
        return Verdict("unreadable")
    if verdict.outcome not in get_args(Outcome) or (
        verdict.outcome == "clean" and not verdict.data.startswith(b"%PDF-")
    ):
        return Verdict("unreadable")
    return verdict


def examine(data: bytes) -> Verdict:
    """The check itself, in this process: for the child (see :func:`check`), which has the limits."""
    pikepdf.settings.set_qpdf_limits(flate_max_memory=OBJECT_STREAM_LIMIT, doc_max_warnings=100)
    warnings = _Warnings()
    qpdf_log = logging.getLogger("pikepdf._core")
    qpdf_log.addHandler(warnings)
    qpdf_log.setLevel(logging.WARNING)
    qpdf_log.propagate = False
    try:
        with pikepdf.open(
            io.BytesIO(data),
            attempt_recovery=False,
            inherit_page_attributes=False,
            suppress_warnings=False,
            conversion_mode="explicit",
        ) as pdf:
            if pdf.is_encrypted:
                return Verdict("encrypted")
            if _object_streams_too_big(pdf):
                return Verdict("too_complex")
            found = _active_content(pdf)
            rewritten = b"" if found or warnings.said else _rewrite(pdf)
    except pikepdf.PasswordError:
        return Verdict("encrypted")
    except MemoryError:
        return Verdict("too_complex")
    except (
        pikepdf.PdfError,
        pikepdf.DataDecodingError,
        RuntimeError,
        ValueError,
        TypeError,
    ):
        return Verdict("too_complex" if warnings.out_of_memory else "unreadable")
    if found:
        return Verdict("active", tuple(code for code in FOUND if code in found))
    if warnings.out_of_memory:
        return Verdict("too_complex")
    if warnings.said or not rewritten:
        return Verdict("unreadable")
    return Verdict("clean", data=rewritten)


def _rewrite(pdf: pikepdf.Pdf) -> bytes:
    """``pdf`` written again by qpdf: only the objects reachable from its trailer, all of which
    the check has examined, with every stream's data as it was (never decoded; one stored
    uncompressed is Flate-compressed, as the object streams must be, or the copy could be many
    times the size of the original), object streams kept, one cross-reference, and no
    linearization, earlier revisions, or bytes qpdf did not read."""
    out = io.BytesIO()
    pdf.save(
        out,
        object_stream_mode=pikepdf.ObjectStreamMode.preserve,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        compress_streams=True,
        fix_metadata_version=False,
        linearize=False,
    )
    return out.getvalue()


class _Warnings(logging.Handler):
    """What qpdf warned of while reading (pikepdf passes its warnings to this logger)."""

    #: qpdf's words when a limit stops it: its Flate limit, and C++'s out-of-memory error,
    #: which qpdf reports as a warning and reads the object as null.
    OUT_OF_MEMORY = ("memory limit exceeded", "std::bad_alloc")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.said: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().strip()
        if text and text != "WARNING:":
            self.said.append(text)

    @property
    def out_of_memory(self) -> bool:
        return any(words in text for text in self.said for words in self.OUT_OF_MEMORY)


def _object_streams_too_big(pdf: pikepdf.Pdf) -> bool:
    """Whether the object streams decode to more than :data:`OBJECT_STREAM_LIMIT` in all.

    Found from the cross-reference table and measured before the objects packed in them
    are parsed (each decode stopping at the limit), so a stream that inflates hugely is
    never parsed. (A stream holding the catalogue is parsed on opening; the memory limit
    of the child, and qpdf's own limit on each decode, hold there.)
    """
    numbers = {entry.obj_stream_number for entry in pdf.get_xref_table().values() if entry.type == 2}
    total = 0
    for number in sorted(n for n in numbers if n is not None):
        total += len(pdf.get_object(number, 0).read_bytes())
        if total > OBJECT_STREAM_LIMIT:
            return True
    return False


def _active_content(pdf: pikepdf.Pdf) -> set[str]:
    """The codes of :data:`FOUND` for everything active in any object of ``pdf``.

    Each indirect object is examined once, with the direct objects inside it; a
    reference is not followed, since what it points to is in ``pdf.objects`` too.
    """
    found: set[str] = set()
    for root in [pdf.trailer, *pdf.objects]:
        pending = [root]
        while pending:
            node = pending.pop()
            kind = _kind(node)
            if kind is ObjectType.array:
                children = list(node)
            elif kind in _DICTIONARIES:
                entries = dict(node.items())  # one call into pikepdf, not one per key
                _examine(entries, found, stream=kind is ObjectType.stream)
                children = list(entries.values())
            else:
                continue
            pending.extend(child for child in children if _kind(child) in _CONTAINERS and not child.is_indirect)
    return found


def _examine(entries: dict[str, pikepdf.Object], found: set[str], *, stream: bool) -> None:
    """Add to ``found`` what this dictionary (or stream dictionary) holds that is active."""
    found.update(_KEYS[key] for key in entries.keys() & _KEYS.keys())
    if stream and "/F" in entries:
        found.add("external_stream")
    kind, type_, subtype = (_name(entries.get(key)) for key in ("/S", "/Type", "/Subtype"))
    for value, table in (
        (type_, _TYPES),
        (subtype, _SUBTYPES),
        (kind, _REFUSED_ACTIONS),
    ):
        if value in table:
            found.add(table[value])
    actions = [entries[key] for key in _ACTION_KEYS if key in entries]
    if kind is not None and "/Next" in entries:  # an action, and the ones it leads to
        following = entries["/Next"]
        actions.extend(following if _kind(following) is ObjectType.array else [following])
    if "/OpenAction" in entries and _kind(entries["/OpenAction"]) in _DICTIONARIES:
        found.add("open_action")
    if type_ == "/Action":
        _judge_action(entries, found)
    for action in actions:
        if _kind(action) in _DICTIONARIES:
            _judge_action(dict(action.items()), found)


def _judge_action(action: dict[str, pikepdf.Object], found: set[str]) -> None:
    """Add to ``found`` what is wrong with an action, if anything: see the module's list."""
    kind = _name(action.get("/S"))
    if kind is None:
        return  # not an action: a viewer does nothing with it
    if kind in _REFUSED_ACTIONS:
        found.add(_REFUSED_ACTIONS[kind])
    elif kind not in _HARMLESS_ACTIONS or (kind == "/Named" and _name(action.get("/N")) not in _PAGE_TURNS):
        found.add("action")
    elif kind == "/Thread" and "/F" in action:  # a thread in another file
        found.add("other_document")


def _kind(value: pikepdf.Object | None) -> ObjectType:
    """The type of ``value``; pikepdf gives a null as None, even in explicit mode."""
    return ObjectType.null if value is None else value._type_code


def _name(value: pikepdf.Object | None) -> str | None:
    return str(value) if _kind(value) is ObjectType.name_ else None


def _main() -> None:
    """The child: limits first, then the PDF from stdin, then one line of JSON on stdout and,
    for a clean PDF, the file to store after it."""
    _lower(resource.RLIMIT_AS, MEMORY_LIMIT, MEMORY_LIMIT)
    # Past the soft limit the child gets SIGXCPU, a second later SIGKILL.
    _lower(resource.RLIMIT_CPU, CPU_SECONDS, CPU_SECONDS + 1)
    _lower(resource.RLIMIT_CORE, 0, 0)  # no core file of someone's document
    data = sys.stdin.buffer.read()
    _lower(resource.RLIMIT_FSIZE, 0, 0)  # it writes to nothing but its pipe
    verdict = examine(data)
    answer = json.dumps({"outcome": verdict.outcome, "found": list(verdict.found)})
    sys.stdout.buffer.write(answer.encode("ascii") + b"\n" + verdict.data)


def _lower(kind: int, soft: int, hard: int) -> None:
    """Set a limit, never above the one the server already imposes (which cannot be raised)."""
    _, imposed = resource.getrlimit(kind)
    if imposed != resource.RLIM_INFINITY:
        soft, hard = min(soft, imposed), min(hard, imposed)
    resource.setrlimit(kind, (soft, hard))


if __name__ == "__main__":
    _main()
