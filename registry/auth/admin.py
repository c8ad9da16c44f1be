"""User administration on the web pages, under the four-eyes rule (``registry.auth.approvals``).

An administrator adds people (who choose their own password through a set-up link), changes roles
(privileged ones wait for a second administrator), sends password set-up links, asks for two-factor
resets, records line managers, deactivates leavers, revokes API tokens, and approves or rejects what
another administrator asked for. Nobody does any of this to their own account. The routes live on
the ``auth`` blueprint.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from registry import db
from registry.auth import approvals, managers, mfa, services
from registry.auth.blueprint import bp
from registry.auth.forms import (
    LineManagerForm,
    RejectForm,
    RolesForm,
    TwoFactorResetForm,
    UserCreateForm,
)
from registry.auth.models import AccountRequest, ApiToken, SetupReason, User
from registry.auth.permissions import PRIVILEGED_ROLES, Permission, requires
from registry.auth.sessions import signed_in_user
from registry.auth.setup_links import issue as issue_setup_link
from registry.auth.setup_links import open_link_for
from registry.notifications.services import smtp_configured
from registry.web.forms import ConfirmForm, apply_errors
from registry.web.pagination import paged
from registry.web.refusals import attempt


def _actor() -> User:
    return signed_in_user()


def _user_or_404(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _link_sent(user: User) -> str:
    """Where the person will find their set-up link, in plain words for the administrator."""
    if smtp_configured():
        return f"A set-up link has been e-mailed to {user.email}; it works once, for 24 hours."
    return (
        "This Registry has no e-mail server, so the set-up link cannot be e-mailed: the person who runs the "
        f"server prints one with `flask --app wsgi users setup-link {user.email}`."
    )


def _asked(request_: AccountRequest | None) -> str:
    if request_ is None:
        return ""
    return (
        f" {request_.kind_enum.label} ({request_.reference}) now waits for a second system administrator to approve it."
    )


@bp.route("/admin/users")
@requires(Permission.USER_MANAGE)
def users() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()[:200]
    statement = select(User).options(selectinload(User.role_grants)).order_by(User.active.desc(), func.lower(User.name))
    if q:
        like = db.contains_pattern(q.lower())
        statement = statement.where(
            or_(func.lower(User.name).like(like, escape=db.LIKE_ESCAPE), User.email.like(like, escape=db.LIKE_ESCAPE))
        )
    return render_template("auth/users.html", page=paged(statement, 50), q=q, waiting=approvals.waiting_count())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires(Permission.USER_MANAGE)
def create_user() -> ResponseReturnValue:
    """Add a person. They choose their own password through the set-up link e-mailed to them; a
    privileged role they are given waits for a second administrator."""
    form = UserCreateForm()
    if request.method == "POST":
        form.validate()  # its mistakes are reported with the service's, all at once, in the service's words
        mistakes = {field: messages[0] for field, messages in form.errors.items() if messages}
        for field in form:
            field.errors = []
        done = attempt(
            lambda: approvals.add_user(
                email=form.email.data or "",
                name=form.name.data or "",
                roles=form.roles.data or [],
                reason=form.reason.data,
                actor=_actor(),
                errors=mistakes,
            ),
            form,
        )
        if done.result is not None:
            added = done.result
            flash(f"{added.user.name} has been added. {_link_sent(added.user)}{_asked(added.request)}", "success")
            return redirect(url_for("auth.user", user_id=added.user.id))
    return render_template("auth/user_new.html", form=form), 422 if form.errors else 200


def _line_manager_form(user: User, formdata: object = None) -> LineManagerForm:
    form = LineManagerForm(
        formdata=formdata,
        prefix="manager",
        data={"line_manager": str(user.line_manager_id) if user.line_manager_id else ""},
    )
    form.line_manager.choices = [SelectChoice("", "No line manager")] + [
        SelectChoice(str(person.id), f"{person.name} ({person.email})")
        for person in managers.line_manager_candidates(user)
    ]
    return form


def _user_page(
    user: User,
    *,
    roles_form: RolesForm | None = None,
    reset_form: TwoFactorResetForm | None = None,
    manager_form: LineManagerForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    roles_form = roles_form or RolesForm(roles=sorted(r.value for r in user.roles), formdata=None)
    return render_template(
        "auth/user.html",
        user=user,
        own=user.id == _actor().id,
        roles_form=roles_form,
        manager_form=manager_form or _line_manager_form(user),
        reset_form=reset_form or TwoFactorResetForm(formdata=None),
        confirm=ConfirmForm(),
        tokens=services.tokens_of(user),
        two_factor=mfa.is_enrolled(user),
        privileged=bool(user.roles & PRIVILEGED_ROLES),
        requests=approvals.about(user),
        open_link=open_link_for(user),
        can_approve=approvals.can_approve,
        identities=services.identities_of(user),
    ), status


@bp.route("/admin/users/<int:user_id>")
@requires(Permission.USER_MANAGE)
def user(user_id: int) -> ResponseReturnValue:
    return _user_page(_user_or_404(user_id))


@bp.route("/admin/users/<int:user_id>/roles", methods=["POST"])
@requires(Permission.USER_MANAGE)
def set_roles(user_id: int) -> ResponseReturnValue:
    """Change someone's roles: removals and everyday roles now, privileged roles by request (four eyes)."""
    user = _user_or_404(user_id)
    form = RolesForm()
    status = 422
    if form.validate_on_submit():
        done = attempt(
            lambda: approvals.change_roles(user, form.roles.data or [], actor=_actor(), reason=form.reason.data), form
        )
        if done.result is not None:
            change = done.result
            said = f"{user.name}'s roles have been updated and their sessions ended." if change.changed else ""
            if not change.changed and change.request is None:
                said = "The roles were already as chosen."
            flash((said + _asked(change.request)).strip(), "success")
            return redirect(url_for("auth.user", user_id=user.id))
        status = done.status
    return _user_page(user, roles_form=form, status=status)


@bp.route("/admin/users/<int:user_id>/line-manager", methods=["POST"])
@requires(Permission.USER_MANAGE)
def set_line_manager(user_id: int) -> ResponseReturnValue:
    """Record (or clear) the person's line manager, who handles breach reports about them first."""
    user = _user_or_404(user_id)
    form = _line_manager_form(user, request.form)
    value = (form.line_manager.data or "").strip()
    manager = None
    if value:
        manager = db.session().get(User, int(value)) if value.isdigit() and len(value) <= 9 else None
        if manager is None:
            apply_errors(form, {"line_manager": "Choose a line manager from the list"})
            return _user_page(user, manager_form=form, status=422)
    done = attempt(lambda: managers.set_line_manager(user, manager, actor=_actor()), form)
    if not done:
        return _user_page(user, manager_form=form, status=done.status)
    if not done.result:
        message = "The line manager was already as chosen."
    elif manager is None:
        message = (
            f"{user.name} no longer has a line manager: the communications team will route breach reports about them."
        )
    else:
        message = f"{manager.name} is now {user.name}'s line manager."
    flash(message, "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@requires(Permission.USER_MANAGE)
def deactivate(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    report = services.deactivate(user, actor=_actor())
    flash(f"{user.name} has been deactivated and signed out everywhere. {report.summary()}", "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@requires(Permission.USER_MANAGE)
def reactivate(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    removed = services.reactivate(user, actor=_actor())
    taken = (
        f" Their {approvals.role_names(removed)} {'role' if len(removed) == 1 else 'roles'} did not come back: "
        "ask again if they still need it, and a second system administrator approves it."
        if removed
        else ""
    )
    flash(f"{user.name} can sign in again.{taken}", "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@requires(Permission.USER_MANAGE)
def reset_password(user_id: int) -> ResponseReturnValue:
    """Reset a forgotten password: the old one stops working and the person chooses a new one through
    a set-up link sent to their own e-mail. The administrator never learns a password."""
    user = _user_or_404(user_id)
    services.reset_password(user, actor=_actor())
    flash(f"{user.name}'s password has been reset and their sessions ended. {_link_sent(user)}", "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/set-up-link", methods=["POST"])
@requires(Permission.USER_MANAGE)
def send_setup_link(user_id: int) -> ResponseReturnValue:
    """Send a new set-up link (the last one expired or was lost); earlier links stop working."""
    user = _user_or_404(user_id)
    if user.id == _actor().id:
        abort(403, "Nobody sends a set-up link for their own account: ask another system administrator.")
    reason = (
        SetupReason.NEW_ACCOUNT
        if not user.password_hash
        else (SetupReason.ROLE_GRANTED if mfa.requires_two_factor(user) and not mfa.is_enrolled(user) else None)
    )
    if reason is None:
        abort(
            409,
            f"{user.name} has a password and needs no set-up link. To reset a forgotten password, use "
            "'Reset password'.",
        )
    issue_setup_link(user, reason, actor=_actor())
    flash(_link_sent(user), "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/two-factor/reset", methods=["POST"])
@requires(Permission.USER_MANAGE)
def reset_two_factor(user_id: int) -> ResponseReturnValue:
    """A lost phone. For a privileged user, a request that a second administrator approves (the user is
    e-mailed at once); for anyone else, done now."""
    user = _user_or_404(user_id)
    form = TwoFactorResetForm()
    status = 422
    if form.validate_on_submit():
        done = attempt(lambda: approvals.reset_two_factor(user, actor=_actor(), reason=form.reason.data), form)
        if done:
            asked = done.result
            if asked is None:
                flash(
                    f"{user.name}'s two-factor sign-in has been reset. They set it up again when they next sign in.",
                    "success",
                )
            else:
                flash(f"{user.name} has been told.{_asked(asked)}", "success")
            return redirect(url_for("auth.user", user_id=user.id))
        status = done.status
    return _user_page(user, reset_form=form, status=status)


@bp.route("/admin/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(Permission.USER_MANAGE)
def revoke_token(user_id: int, token_id: int) -> ResponseReturnValue:
    token = db.session().get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        abort(404)
    services.revoke_token(token, actor=_actor())
    flash(f"The API token starting {token.prefix} has been revoked.", "success")
    return redirect(url_for("auth.user", user_id=user_id))


@bp.route("/admin/approvals")
@requires(Permission.USER_MANAGE)
def approvals_index() -> ResponseReturnValue:
    """What administrators have asked for and wait on a second administrator, and what was decided."""
    return render_template(
        "auth/approvals.html",
        waiting=list(db.session().execute(approvals.waiting().limit(100)).scalars()),
        decided=paged(approvals.decided(), 25),
        can_approve=approvals.can_approve,
        confirm=ConfirmForm(),
    )


@bp.route("/admin/approvals/<int:request_id>", methods=["GET"])
@requires(Permission.USER_MANAGE)
def approval(request_id: int) -> ResponseReturnValue:
    account_request = approvals.get(request_id)
    return render_template(
        "auth/approval.html",
        item=account_request,
        can_approve=approvals.can_approve(account_request, _actor()),
        expired=approvals.expired(account_request),
        confirm=ConfirmForm(),
        form=RejectForm(formdata=None),
    )


@bp.route("/admin/approvals/<int:request_id>/approve", methods=["POST"])
@requires(Permission.USER_MANAGE)
def approve(request_id: int) -> ResponseReturnValue:
    account_request = approvals.get(request_id)
    approvals.approve(account_request, actor=_actor())
    flash(
        f"Approved: {account_request.kind_enum.label.lower()} for {account_request.user.name}. They and the "
        "communications team have been told.",
        "success",
    )
    return redirect(url_for("auth.approvals_index"))


@bp.route("/admin/approvals/<int:request_id>/reject", methods=["POST"])
@requires(Permission.USER_MANAGE)
def reject(request_id: int) -> ResponseReturnValue:
    account_request = approvals.get(request_id)
    form = RejectForm()
    status = 422
    if form.validate_on_submit():
        done = attempt(lambda: approvals.reject(account_request, actor=_actor(), note=form.note.data), form)
        if done:
            flash(f"Rejected: {account_request.kind_enum.label.lower()} for {account_request.user.name}.", "success")
            return redirect(url_for("auth.approvals_index"))
        status = done.status
    return render_template(
        "auth/approval.html",
        item=account_request,
        can_approve=approvals.can_approve(account_request, _actor()),
        expired=approvals.expired(account_request),
        confirm=ConfirmForm(),
        form=form,
    ), status


@bp.route("/admin/approvals/<int:request_id>/cancel", methods=["POST"])
@requires(Permission.USER_MANAGE)
def cancel(request_id: int) -> ResponseReturnValue:
    account_request = approvals.get(request_id)
    approvals.cancel(account_request, actor=_actor())
    flash(f"Cancelled: {account_request.kind_enum.label.lower()} for {account_request.user.name}.", "success")
    return redirect(url_for("auth.approvals_index"))
