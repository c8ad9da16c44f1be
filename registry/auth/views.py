"""Sign-in and sign-out, the user's own account, and user administration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from registry import db
from registry.auth import services
from registry.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    ResetPasswordForm,
    RolesForm,
    UserCreateForm,
)
from registry.auth.models import ApiToken, User
from registry.auth.permissions import Permission, public, requires
from registry.errors import Invalid
from registry.web.forms import ConfirmForm, apply_errors
from registry.web.pagination import page_args, paginate
from registry.web.throttle import (
    SIGN_IN_PER_ACCOUNT,
    SIGN_IN_PER_ACCOUNT_FROM_NEW_ADDRESSES,
    SIGN_IN_PER_ADDRESS,
    account,
    account_and_address,
    address_known_for_account,
    failed_sign_in,
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
@limiter.limit(SIGN_IN_PER_ADDRESS, methods=["POST"], deduct_when=failed_sign_in)
@limiter.limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], key_func=account_and_address, deduct_when=failed_sign_in)
@limiter.limit(
    SIGN_IN_PER_ACCOUNT_FROM_NEW_ADDRESSES, methods=["POST"], key_func=account, deduct_when=failed_sign_in,
    exempt_when=address_known_for_account,
)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.home"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            services.sign_in(user)
            if user.must_change_password:
                flash("You must choose a new password before you continue.")
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")))
        failed = True
    status = 200 if request.method == "GET" or failed else 422
    return render_template("auth/login.html", form=form, failed=failed, message=SIGN_IN_FAILED), status


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


def _user_page(user: User, *, roles_form: RolesForm | None = None, reset_form: ResetPasswordForm | None = None, status: int = 200):
    roles_form = roles_form or RolesForm(roles=sorted(r.value for r in user.roles))
    return render_template(
        "auth/user.html",
        user=user,
        roles_form=roles_form,
        reset_form=reset_form or ResetPasswordForm(),
        confirm=ConfirmForm(),
        tokens=services.tokens_of(user),
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


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@requires(Permission.USER_MANAGE)
def deactivate(user_id: int):
    user = _user_or_404(user_id)
    services.deactivate(user, actor=current_user._get_current_object())
    flash(f"{user.name} has been deactivated and signed out everywhere.", "success")
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
