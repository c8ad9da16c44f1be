"""Sign-in and sign-out, the user's own account, and user administration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth import devices, mfa, services, sessions
from registry.auth.forms import (
    ChangePasswordForm,
    EnrolForm,
    LineManagerForm,
    LoginForm,
    ResetPasswordForm,
    RolesForm,
    SecondFactorForm,
    UserCreateForm,
)
from registry.auth.models import ApiToken, User
from registry.auth.permissions import Permission, public, requires
from registry.errors import Invalid
from registry.web import security
from registry.web.forms import ConfirmForm, apply_errors
from registry.web.pagination import page_args, paginate
from registry.web.throttle import (
    SIGN_IN_PER_ACCOUNT,
    SIGN_IN_PER_ACCOUNT_FROM_NEW_ADDRESSES,
    SIGN_IN_PER_ADDRESS,
    account,
    account_and_client,
    failed_sign_in,
    from_trusted_device,
    known_client,
    limiter,
)

bp = Blueprint("auth", __name__)

SIGN_IN_FAILED = "Enter a correct email address and password. If you have forgotten your password, ask a system administrator to reset it."


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not target:
        return url_for("web.home")
    target = target.rstrip("?")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("web.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(SIGN_IN_PER_ADDRESS, methods=["POST"], deduct_when=failed_sign_in, exempt_when=from_trusted_device)
@limiter.limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], key_func=account_and_client, deduct_when=failed_sign_in)
@limiter.limit(
    SIGN_IN_PER_ACCOUNT_FROM_NEW_ADDRESSES, methods=["POST"], key_func=account, deduct_when=failed_sign_in,
    exempt_when=known_client,
)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.home"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            if mfa.is_enrolled(user):
                sessions.hold_for_second_factor(user, request.args.get("next"))
                return redirect(url_for("auth.login_second_factor"))
            services.sign_in(user)
            devices.remember(user)
            return _after_sign_in(user, request.args.get("next"))
        failed = True
    status = 200 if request.method == "GET" or failed else 422
    return render_template("auth/login.html", form=form, failed=failed, message=SIGN_IN_FAILED), status


def _after_sign_in(user: User, next_path: str | None):
    if user.must_change_password:
        flash("You must choose a new password before you continue.")
        return redirect(url_for("auth.change_password"))
    if mfa.requires_two_factor(user) and not mfa.is_enrolled(user):
        flash("Set up two-factor sign-in first: your role gives you access to sensitive information.")
        return redirect(url_for("auth.two_factor"))
    return redirect(_safe_next(next_path))


def pending_user_key() -> str:
    pending = sessions.pending_second_factor()
    return f"two-factor:{pending[0].id if pending else 'none'}"


@bp.route("/login/mfa", methods=["GET", "POST"])
@public
@limiter.limit(SIGN_IN_PER_ADDRESS, methods=["POST"], deduct_when=failed_sign_in)
@limiter.limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], key_func=pending_user_key, deduct_when=failed_sign_in)
def login_second_factor():
    pending = sessions.pending_second_factor()
    if pending is None:
        flash("Sign in with your email address and password first.")
        return redirect(url_for("auth.login"))
    user, next_path = pending
    form = SecondFactorForm()
    failed = False
    if form.validate_on_submit():
        method = mfa.verify(user, form.code.data or "")
        if method is not None:
            services.sign_in(user, second_factor=method)
            devices.remember(user)
            if method == "recovery_code":
                flash(
                    f"You signed in with a recovery code. You have {mfa.unused_recovery_codes(user)} left: "
                    "create new ones from your account page if you are running out."
                )
            return _after_sign_in(user, next_path)
        failed = True
        db.keep_on_error()  # the failed attempt stays in the audit trail
    status = 422 if form.errors or failed else 200
    return render_template("auth/login_mfa.html", form=form, failed=failed), status


@bp.route("/account/two-factor", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_MANAGE_OWN)
def two_factor():
    user = current_user._get_current_object()
    form = EnrolForm()
    if mfa.is_enrolled(user):
        if request.method == "POST":
            return redirect(url_for("auth.two_factor"))
        return render_template(
            "auth/two_factor.html", enrolled=True, unused=mfa.unused_recovery_codes(user), confirm=ConfirmForm(),
        )
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_enrolment(user, form.code.data or "")
        except Invalid as exc:
            apply_errors(form, exc.errors)
        else:
            sessions.mark_second_factor()
            security.no_store()
            return render_template("auth/recovery_codes.html", codes=codes, first_time=True)
    enrolment = mfa.pending_enrolment(user) or mfa.start_enrolment(user)
    security.no_store()
    return render_template(
        "auth/two_factor.html", enrolled=False, enrolment=enrolment, form=form,
    ), 422 if form.errors else 200


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@requires(Permission.ACCOUNT_MANAGE_OWN)
def new_recovery_codes():
    codes = mfa.regenerate_recovery_codes(current_user._get_current_object())
    security.no_store()
    return render_template("auth/recovery_codes.html", codes=codes, first_time=False)


def signed_in_user_key() -> str:
    return f"step-up:{current_user.get_id() if current_user.is_authenticated else 'none'}"


@bp.route("/account/step-up", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_MANAGE_OWN)
@limiter.limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], key_func=signed_in_user_key, deduct_when=failed_sign_in)
def step_up():
    """Confirm the second factor again before something sensitive (revealing a secret)."""
    user = current_user._get_current_object()
    next_path = _safe_next(request.args.get("next"))
    if not mfa.is_enrolled(user):
        flash("Set up two-factor sign-in first.")
        return redirect(url_for("auth.two_factor"))
    form = SecondFactorForm()
    failed = False
    if form.validate_on_submit():
        method = mfa.verify(user, form.code.data or "")
        if method is not None:
            sessions.mark_second_factor()
            record(AuditAction.USER_STEP_UP, "user", user.id, {"second_factor": method}, actor=user)
            return redirect(next_path)
        failed = True
        db.keep_on_error()
    return render_template("auth/step_up.html", form=form, failed=failed), 422 if form.errors or failed else 200


@bp.route("/admin/users/<int:user_id>/two-factor/reset", methods=["POST"])
@requires(Permission.USER_MANAGE)
def reset_two_factor(user_id: int):
    user = _user_or_404(user_id)
    mfa.reset(user, actor=current_user._get_current_object())
    sessions.end_all(user, "two_factor_reset")
    flash(f"{user.name}'s two-factor sign-in has been reset. They must set it up again when they next sign in.", "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        services.sign_out(current_user._get_current_object())
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account")
@requires(Permission.ACCOUNT_MANAGE_OWN)
def account():
    return render_template("auth/account.html", user=current_user)


@bp.route("/account/password", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_MANAGE_OWN)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user._get_current_object(), current=form.current_password.data or "", new=form.new_password.data or ""
            )
        except Invalid as exc:
            apply_errors(form, exc.errors)
        else:
            flash("Your password has been changed. Your other sessions have been signed out.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form), 422 if form.errors else 200


@bp.route("/admin/users")
@requires(Permission.USER_MANAGE)
def users():
    page, per_page = page_args(50)
    q = request.args.get("q", "").strip()[:200]
    statement = select(User).options(selectinload(User.role_grants)).order_by(User.active.desc(), func.lower(User.name))
    if q:
        like = db.contains_pattern(q.lower())
        statement = statement.where(
            or_(func.lower(User.name).like(like, escape=db.LIKE_ESCAPE), User.email.like(like, escape=db.LIKE_ESCAPE))
        )
    result = paginate(db.session(), statement, page, per_page)
    return render_template("auth/users.html", page=result, q=q)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires(Permission.USER_MANAGE)
def create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                email=form.email.data or "",
                name=form.name.data or "",
                roles=form.roles.data or [],
                password=form.password.data or "",
                actor=current_user._get_current_object(),
                must_change_password=True,
            )
        except Invalid as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{user.name} can now sign in with the temporary password you chose.", "success")
            return redirect(url_for("auth.user", user_id=user.id))
    return render_template("auth/user_new.html", form=form), 422 if form.errors else 200


def _user_or_404(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _line_manager_form(user: User, formdata: object = None) -> LineManagerForm:
    form = LineManagerForm(
        formdata=formdata, prefix="manager",
        data={"line_manager": str(user.line_manager_id) if user.line_manager_id else ""},
    )
    form.line_manager.choices = [SelectChoice("", "No line manager")] + [
        SelectChoice(str(person.id), f"{person.name} ({person.email})")
        for person in services.line_manager_candidates(user)
    ]
    return form


def _user_page(
    user: User, *, roles_form: RolesForm | None = None, reset_form: ResetPasswordForm | None = None,
    manager_form: LineManagerForm | None = None, status: int = 200,
):
    roles_form = roles_form or RolesForm(roles=sorted(r.value for r in user.roles))
    return render_template(
        "auth/user.html",
        user=user,
        roles_form=roles_form,
        manager_form=manager_form or _line_manager_form(user),
        reset_form=reset_form or ResetPasswordForm(),
        confirm=ConfirmForm(),
        tokens=services.tokens_of(user),
        two_factor=mfa.is_enrolled(user),
    ), status


@bp.route("/admin/users/<int:user_id>")
@requires(Permission.USER_MANAGE)
def user(user_id: int):
    return _user_page(_user_or_404(user_id))


@bp.route("/admin/users/<int:user_id>/roles", methods=["POST"])
@requires(Permission.USER_MANAGE)
def set_roles(user_id: int):
    user = _user_or_404(user_id)
    form = RolesForm()
    if form.validate_on_submit():
        try:
            changed = services.set_roles(user, form.roles.data or [], actor=current_user._get_current_object())
        except Invalid as exc:
            apply_errors(form, exc.errors)
        else:
            flash(
                f"{user.name}'s roles have been updated and their sessions ended." if changed else "The roles were already as chosen.",
                "success",
            )
            return redirect(url_for("auth.user", user_id=user.id))
    return _user_page(user, roles_form=form, status=422)


@bp.route("/admin/users/<int:user_id>/line-manager", methods=["POST"])
@requires(Permission.USER_MANAGE)
def set_line_manager(user_id: int):
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
    try:
        changed = services.set_line_manager(user, manager, actor=current_user._get_current_object())
    except Invalid as exc:
        apply_errors(form, exc.errors)
        return _user_page(user, manager_form=form, status=422)
    if not changed:
        message = "The line manager was already as chosen."
    elif manager is None:
        message = f"{user.name} no longer has a line manager: the communications team will route breach reports about them."
    else:
        message = f"{manager.name} is now {user.name}'s line manager."
    flash(message, "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@requires(Permission.USER_MANAGE)
def deactivate(user_id: int):
    user = _user_or_404(user_id)
    report = services.deactivate(user, actor=current_user._get_current_object())
    flash(f"{user.name} has been deactivated and signed out everywhere. {report.summary()}", "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@requires(Permission.USER_MANAGE)
def reactivate(user_id: int):
    user = _user_or_404(user_id)
    services.reactivate(user, actor=current_user._get_current_object())
    flash(f"{user.name} can sign in again.", "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@requires(Permission.USER_MANAGE)
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(user, new=form.password.data or "", actor=current_user._get_current_object())
        except Invalid as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{user.name}'s password has been reset. They must change it when they sign in.", "success")
            return redirect(url_for("auth.user", user_id=user.id))
    return _user_page(user, reset_form=form, status=422)


@bp.route("/admin/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(Permission.USER_MANAGE)
def revoke_token(user_id: int, token_id: int):
    token = db.session().get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        abort(404)
    services.revoke_token(token, actor=current_user._get_current_object())
    flash(f"The API token starting {token.prefix} has been revoked.", "success")
    return redirect(url_for("auth.user", user_id=user_id))
