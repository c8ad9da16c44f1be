"""Start-up: what the app imports when a process starts (each command, each gunicorn worker).

The views (every page's and the API's modules, the API's pydantic models among them, and some 190 URL
rules) are registered when the app first needs them: its first request, test client or URL map
(``registry.Registry``); the commands are registered at the start, so ``flask --help`` lists them
all, and each imports the services it runs when it runs. Libraries only some requests need are
imported when first used: matplotlib when a chart is drawn, Alembic by the ``db`` commands,
scim2-models on the first SCIM request, pikepdf when a PDF is examined, zxcvbn when a password is
judged, Pillow when an image is uploaded, email-validator when an address is checked, segno when a QR
code is drawn, the Unicode confusables data when handles are compared, pykeepass when a KeePass
database is read, Authlib and joserfc only where an OpenID provider is configured (none is here), and
cryptography when a secret is sealed or opened (the vault makes its ciphers when first used; the
fingerprint key's HKDF is written out with hmac). The start's own modules (the sign-in guard and
sessions, the throttle, the templates) import two-factor sign-in, the notification services and the
patient-identifier screener where they use them.
The API's pydantic models are built on first use; the SQLAlchemy models are declared by the app's
first use (a command, a request) or the first query, which configures the mappers. ``wsgi.py``
freezes what the start made, so that no collection goes over it again. Which modules a start loads,
and what it builds, is behaviour; how long it takes belongs in the bench.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from registry import PROJECT_ROOT, Registry
from registry.uploads import pdf_scan
from registry.uploads import services as uploads

LAZY = (
    "matplotlib",
    "alembic",
    "scim2_models",
    "pikepdf",
    "zxcvbn",
    "authlib",
    "joserfc",
    "PIL",
    "email_validator",
    "segno",
    "confusable_homoglyphs",
    "pykeepass",
    "pydantic",
    "cryptography",
    "registry.auth.mfa",
    "registry.notifications.services",
    "registry.screening.services",
)

BUILT_MODELS = """
from registry.api.operations import Body, Out, Query

def every(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from every(sub)

def concrete(model):  # not an open generic such as Paged itself (pydantic builds those at once)
    return not model.__pydantic_generic_metadata__["parameters"]

models = {m for base in (Body, Out, Query) for m in every(base) if concrete(m)}
built = sorted(m.__qualname__ for m in models if m.__pydantic_complete__)
"""


def start(tmp_path: Path, script: str) -> Any:
    """Run ``import wsgi`` (the app made as gunicorn and ``flask`` make it) then ``script`` in a new
    process without OpenID or other optional settings; what ``script`` leaves in ``answer``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("REGISTRY_", "FLASK_"))}
    env |= {
        "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
        "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
    }
    code = f"import sys, json, wsgi\n{script}\nprint(json.dumps(answer))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_starting_the_app_does_not_import_what_only_some_requests_need(tmp_path: Path) -> None:
    assert start(tmp_path, f"answer = [m for m in {list(LAZY)!r} if m in sys.modules]") == []


def test_starting_the_app_builds_no_api_model_and_a_request_builds_those_it_uses(tmp_path: Path) -> None:
    """The models are built on first use (pydantic's ``defer_build``); then they work: the OpenAPI
    document, which needs every one, is served."""
    assert start(tmp_path, BUILT_MODELS + "answer = built") == []
    used = start(
        tmp_path,
        BUILT_MODELS.replace("built = ", "before = ")
        + "client = wsgi.app.test_client()\n"
        + "document = client.get('/api/v1/openapi.json')\n"
        + "answer = [document.status_code, len(document.get_json()['components']['schemas']) > 0]\n"
        + BUILT_MODELS
        + "answer += [len(built) > 0]",
    )
    assert used == [200, True, True]
    assert start(tmp_path, BUILT_MODELS + "answer = len(models)") > 20


MODELS = sorted(f"registry.{found.parent.name}.models" for found in (PROJECT_ROOT / "registry").glob("*/models.py"))

DECLARED = """
from registry.db import Base
declared = lambda: sorted(m for m in sys.modules if m.startswith('registry.') and m.endswith('.models'))
configured = lambda: sorted({m.configured for m in Base.registry.mappers})
"""


def test_starting_the_app_declares_no_model_and_using_one_declares_and_configures_them_all(tmp_path: Path) -> None:
    """The models are declared when first needed: none at the start; the first use of a model (a query,
    a new row), even of one imported on its own, declares every one and configures every mapper."""
    assert len(MODELS) > 15
    assert start(tmp_path, DECLARED + "answer = [declared(), configured()]") == [[], []]
    used = "from registry.auth.models import User\nUser(email='someone@example.test')\n"
    assert start(tmp_path, DECLARED + used + "answer = [declared(), configured()]") == [
        sorted(["registry.models", *MODELS]),
        [True],
    ]


IN_ORDER = "answer = [m for m in sys.modules if m.startswith('registry.') and m.endswith('.models')]"


@pytest.mark.parametrize(
    "use",
    [
        "wsgi.app.test_cli_runner().invoke(args=['audit', 'verify'])",
        "wsgi.app.test_client().get('/healthz')",
    ],
)
def test_commands_and_requests_declare_every_model_in_one_order(tmp_path: Path, use: str) -> None:
    """A command or a request declares every model before it imports any, in the models list's order
    (so the account signals' receivers, connected as packages are imported, run in one order)."""
    assert start(tmp_path, f"{use}\n{IN_ORDER}") == start(tmp_path, f"import registry.models\n{IN_ORDER}")


def test_a_command_still_runs_after_many_apps_are_made_in_one_process(tmp_path: Path) -> None:
    """The commands are module-level objects that every app made in a process shares (the tests make
    hundreds): registering them for each new app must not stack another wrapper on each command, or
    after some thousand apps every command fails on Python's recursion limit."""
    made = "import registry\nfor _ in range(sys.getrecursionlimit() + 100):\n    registry.register_commands(wsgi.app)\n"
    ran = "result = wsgi.app.test_cli_runner().invoke(args=['keys', 'generate'])\n"
    assert start(tmp_path, made + ran + "answer = [result.exit_code, repr(result.exception)]") == [0, "None"]


VIEWS = """
def views():
    return sorted(name for name in sys.modules if name.startswith("registry.") and name.endswith(("views", ".api")))

def rules(app):
    return sorted(f"{rule.rule} {rule.endpoint}" for rule in app.url_map.iter_rules())
"""


def test_starting_the_app_registers_no_view_and_the_first_request_registers_every_one(tmp_path: Path) -> None:
    """No view module is imported and only Flask's static route is in the map until the first
    request; then every route is, the same as an app whose views are registered at once."""
    script = (
        VIEWS
        + "before = [wsgi.app.views_registered(), views(), sorted(vars(wsgi.app)['url_map']._rules_by_endpoint)]\n"
        + "served = wsgi.app.test_client().get('/healthz').status_code\n"
        + "from registry import create_app\n"
        + "whole = create_app()\n"
        + "whole.register_views()\n"
        + "answer = [before, served, wsgi.app.views_registered(), rules(wsgi.app) == rules(whole), len(views()) > 20]"
    )
    assert start(tmp_path, script) == [[False, [], ["static"]], 200, True, True, True]


@pytest.mark.parametrize(
    "read",
    ["app.url_map", "app.view_functions", "app.blueprints", "app.test_request_context()", "app.test_client().get('/')"],
)
def test_each_way_of_reading_the_views_registers_them_first(tmp_path: Path, read: str) -> None:
    registered = "[app.views_registered(), 'channels.inventory' in vars(app)['view_functions']]"
    script = f"app = wsgi.app\n{read}\nanswer = {registered}"
    assert start(tmp_path, script) == [True, True]


def test_flask_help_lists_every_command_of_the_spec(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("REGISTRY_", "FLASK_"))}
    env |= {"REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"), "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path}/r.db"}
    shown = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "--help"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    listed = {line.split()[0] for line in shown.split("Commands:")[1].splitlines() if line.strip()}
    spec = {"db", "users", "tokens", "audit", "keys", "report", "retention", "reminders", "demo", "scim"}
    assert spec | {"channels", "credentials", "routes"} <= listed


def test_views_that_fail_to_register_fail_every_use_of_the_app() -> None:
    """Not an app half made: the first use raises the failure, and every later use refuses."""

    def broken(app: Flask) -> None:
        app.add_url_rule("/half", "half", lambda: "")
        raise LookupError("a view module is missing")

    app = Registry("broken")
    app.defer_views(broken)
    with pytest.raises(LookupError):
        app.test_client().get("/half")
    for _ in range(2):
        with pytest.raises(RuntimeError, match="could not be registered"):
            app.test_client().get("/half")
    assert not app.views_registered()


def test_a_first_request_refused_before_routing_still_leaves_the_views_to_register() -> None:
    """A request whose Host is not trusted (``REGISTRY_TRUSTED_HOSTS``) is refused before Flask reads its
    URL map, and is still counted as served: the views must be registered before it, or every later
    request of the worker fails (Flask forbids setup after a first request)."""

    def views(app: Flask) -> None:
        app.add_url_rule("/page", "page", lambda: "the page")

    app = Registry("trusting")
    app.config["TRUSTED_HOSTS"] = ["registry.example"]
    app.defer_views(views)
    client = app.test_client()
    assert client.get("/page", headers={"Host": "elsewhere.example"}).status_code == 400
    answer = client.get("/page", headers={"Host": "registry.example"})
    assert (answer.status_code, answer.text) == (200, "the page")


def test_the_start_is_frozen_and_the_collector_left_on(tmp_path: Path) -> None:
    assert start(tmp_path, "import gc\nanswer = [gc.isenabled(), gc.get_freeze_count() > 0]") == [True, True]


def test_the_upload_budget_is_the_pdf_checks_own_limit() -> None:
    """Written out in the upload services (so they need not import pikepdf); it must stay the same."""
    assert uploads.CHECK_SECONDS == pdf_scan.WALL_SECONDS
