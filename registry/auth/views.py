"""Sign-in and sign-out, set-up links, and the user's own account (user administration is in
``registry.auth.admin``, on the same blueprint)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth import devices, mfa, oidc, provider_views, services, sessions, setup_links
from registry.auth.blueprint import after_sign_in, bp, safe_next
from registry.auth.forms import (
    ChangePasswordForm,
    ChoosePasswordForm,
    ConfirmPasswordForm,
    EnrolForm,
    LoginForm,
    SecondFactorForm,
)
from registry.auth.passwords import burn_equivalent_time
from registry.auth.permissions import TWO_FACTOR_ROLES, Permission, public, requires
from registry.auth.sessions import signed_in_user
from registry.errors import Invalid
from registry.extensions import limiter
from registry.web import security
from registry.web.forms import ConfirmForm, apply_errors
from registry.web.refusals import attempt
from registry.web.throttle import (
    SIGN_IN_PER_ACCOUNT,
    SIGN_IN_PER_ACCOUNT_FROM_NEW_ADDRESSES,
    SIGN_IN_PER_ADDRESS,
    account_and_client,
    failed_sign_in,
    from_trusted_device,
    known_client,
)
from registry.web.throttle import account as account_key

SIGN_IN_FAILED = (
    "Enter a correct email address and password. If you have forgotten your password, ask a "
    "system administrator to reset it."
)
PASSWORDS_OFF = "Password sign-in is switched off for this service: use the sign-in button above."


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(SIGN_IN_PER_ADDRESS, methods=["POST"], deduct_when=failed_sign_in, exempt_when=from_trusted_device)
@limiter.limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], key_func=account_and_client, deduct_when=failed_sign_in)
@limiter.limit(
    SIGN_IN_PER_ACCOUNT_FROM_NEW_ADDRESSES,
    methods=["POST"],
    key_func=account_key,
    deduct_when=failed_sign_in,
    exempt_when=known_client,
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.home"))
    form = LoginForm()
    failed = False
    message = SIGN_IN_FAILED
    if not provider_views.local_sign_in_allowed() and request.method == "POST":
        failed, message = True, PASSWORDS_OFF
    elif form.validate_on_submit():
        email, password = form.email.data or "", form.password.data or ""
        # Checked before the password, and answered as a wrong password is: whether a password is right
        # is never told for an account that may not use it.
        refusal = provider_views.password_refusal(services.find_user(email) if email else None)
        if refusal is not None:
            burn_equivalent_time(password)
            record(AuditAction.USER_SIGN_IN_FAILED, "user", refusal.id, {"reason": refusal.reason}, actor=refusal.actor)
            db.keep_on_error()
            user = None
        else:
            user = services.authenticate(email, password)
        if user is not None:
            link = provider_views.pending_link()
            if mfa.is_enrolled(user):
                sessions.hold_for_second_factor(user, request.args.get("next"), link=link)
                return redirect(url_for("auth.login_second_factor"))
            services.sign_in(user)
            provider_views.complete_link(user, link)
            devices.remember(user)
            return after_sign_in(user, request.args.get("next"))
        failed = True
    status = 403 if message == PASSWORDS_OFF else 200 if request.method == "GET" or failed else 422
    return render_template(
        "auth/login.html",
        form=form,
        failed=failed,
        message=message,
        provider=oidc.settings(),
        passwords=provider_views.local_sign_in_mode(),
    ), status


def pending_user_key() -> str:
    pending = sessions.pending_second_factor()
    return f"two-factor:{pending[0].id if pending else 'none'}"


@bp.route("/login/mfa", methods=["GET", "POST"])
@public
@limiter.limit(SIGN_IN_PER_ADDRESS, methods=["POST"], deduct_when=failed_sign_in)
@limiter.limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], key_func=pending_user_key, deduct_when=failed_sign_in)
def login_second_factor() -> ResponseReturnValue:
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
            provider, link = sessions.pending_extras()
            services.sign_in(user, second_factor=method, provider=provider)
            provider_views.complete_link(user, link)
            devices.remember(user)
            if method == "recovery_code":
                flash(
                    f"You signed in with a recovery code. You have {mfa.unused_recovery_codes(user)} left: "
                    "create new ones from your account page if you are running out."
                )
            return after_sign_in(user, next_path)
        failed = True
        db.keep_on_error()  # the failed attempt stays in the audit trail
    status = 422 if form.errors or failed else 200
    return render_template("auth/login_mfa.html", form=form, failed=failed), status


@bp.route("/account/two-factor", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_MANAGE_OWN)
def two_factor() -> ResponseReturnValue:
    user = signed_in_user()
    form = EnrolForm()
    if mfa.is_enrolled(user):
        if request.method == "POST":
            return redirect(url_for("auth.two_factor"))
        return render_template(
            "auth/two_factor.html",
            enrolled=True,
            unused=mfa.unused_recovery_codes(user),
            confirm=ConfirmForm(),
        )
    if not setup_links.may_enrol(user) and not provider_views.signed_in_with_provider():
        security.no_store()
        return render_template("auth/two_factor_needs_link.html"), 403
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
        "auth/two_factor.html",
        enrolled=False,
        enrolment=enrolment,
        form=form,
    ), 422 if form.errors else 200


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@requires(Permission.ACCOUNT_MANAGE_OWN)
def new_recovery_codes() -> ResponseReturnValue:
    codes = mfa.regenerate_recovery_codes(signed_in_user())
    security.no_store()
    return render_template("auth/recovery_codes.html", codes=codes, first_time=False)


def signed_in_user_key() -> str:
    return f"step-up:{current_user.get_id() if current_user.is_authenticated else 'none'}"


@bp.route("/account/step-up", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_MANAGE_OWN)
@limiter.limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], key_func=signed_in_user_key, deduct_when=failed_sign_in)
def step_up() -> ResponseReturnValue:
    """Confirm the second factor again before something sensitive (revealing a secret)."""
    user = signed_in_user()
    next_path = safe_next(request.args.get("next"))
    provider = provider_views.signed_in_with_provider()
    if not mfa.is_enrolled(user) and not provider:
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
    return render_template(
        "auth/step_up.html",
        form=form,
        failed=failed,
        provider=oidc.settings() if provider else None,
        totp=mfa.is_enrolled(user),
        next_path=next_path,
    ), 422 if form.errors or failed else 200


@bp.route("/logout", methods=["POST"])
@public
def logout() -> ResponseReturnValue:
    """Sign out here, and at the identity provider too when that is how the person signed in
    (RP-initiated logout: the provider sends them back to the sign-in page)."""
    provider_end = None
    if current_user.is_authenticated:
        if provider_views.signed_in_with_provider():
            provider_end = oidc.end_session_url(provider_views.external_url("auth.login"))
        services.sign_out(signed_in_user())
    flash("You have signed out.", "success")
    return redirect(provider_end or url_for("auth.login"))


@bp.route("/account")
@requires(Permission.ACCOUNT_MANAGE_OWN)
def account() -> ResponseReturnValue:
    return render_template("auth/account.html", user=current_user)


@bp.route("/account/password", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_MANAGE_OWN)
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        done = attempt(
            lambda: services.change_password(
                signed_in_user(), current=form.current_password.data or "", new=form.new_password.data or ""
            ),
            form,
        )
        if done:
            flash("Your password has been changed. Your other sessions have been signed out.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form), 422 if form.errors else 200


SETUP_KEY = "setup_link"
#: How long an opened set-up link waits on its page for the password.
SETUP_PAGE_SECONDS = 30 * 60


def setup_link_key() -> str:
    pending = cookie.get(SETUP_KEY)
    return f"setup-link:{pending.get('link_id') if isinstance(pending, dict) else 'none'}"


@bp.route("/account/set-up/<token>")
@public
@limiter.limit(SIGN_IN_PER_ADDRESS)
def setup_link(token: str) -> ResponseReturnValue:
    """Open a set-up link. The token is swapped for the link's id in the signed cookie and the page moves
    to an address without it, so the token does not stay in the browser's history or reach another site."""
    link = setup_links.find(token)
    security.no_store()
    if link is None:
        return render_template("auth/setup_invalid.html", message=setup_links.NOT_VALID), 404
    if not provider_views.local_sign_in_allowed(link.user):
        return render_template("auth/setup_invalid.html", message=provider_views.LINKS_OFF), 403
    if current_user.is_authenticated:
        sessions.end("replaced")  # whoever was signed in here, the link is for its own person
    cookie[SETUP_KEY] = {"link_id": link.id, "at": int(db.utcnow().timestamp())}
    return redirect(url_for("auth.setup"))


@bp.route("/account/set-up", methods=["GET", "POST"])
@public
@limiter.limit(SIGN_IN_PER_ADDRESS, methods=["POST"], deduct_when=failed_sign_in)
@limiter.limit(SIGN_IN_PER_ACCOUNT, methods=["POST"], key_func=setup_link_key, deduct_when=failed_sign_in)
def setup() -> ResponseReturnValue:
    """Finish what a set-up link is for: choose a password (or enter the one they have), then sign in and,
    for a privileged role, go on to set up two-factor sign-in in this session."""
    security.no_store()
    pending = cookie.get(SETUP_KEY)
    link = None
    if isinstance(pending, dict) and db.utcnow().timestamp() - float(pending.get("at", 0)) <= SETUP_PAGE_SECONDS:
        link = setup_links.get(int(pending.get("link_id") or 0))
    if link is None:
        cookie.pop(SETUP_KEY, None)
        return render_template("auth/setup_invalid.html", message=setup_links.NOT_VALID), 404
    if not provider_views.local_sign_in_allowed(link.user):
        cookie.pop(SETUP_KEY, None)
        return render_template("auth/setup_invalid.html", message=provider_views.LINKS_OFF), 403
    choosing = setup_links.needs_new_password(link)
    form = ChoosePasswordForm() if choosing else ConfirmPasswordForm()
    if form.validate_on_submit():
        attempted = attempt(
            lambda: setup_links.complete(
                link,
                password=form.password.data or "",
                confirm=form.confirm.data if isinstance(form, ChoosePasswordForm) else None,
            ),
            form,
            keep=True,
        )
        if attempted.result is None:
            db.keep_on_error()  # a wrong password on a link stays in the audit trail
        else:
            done = attempted.result
            if done.needs_code:
                flash(
                    ("Your password is saved." if choosing else "Your password is right.")
                    + " Now enter the code from your authenticator app."
                )
                return redirect(url_for("auth.login_second_factor"))
            if done.must_enrol and not mfa.is_enrolled(done.user):
                flash("Now set up two-factor sign-in: your role gives you access to sensitive information.")
                return redirect(url_for("auth.two_factor"))
            flash("Your account is set up and you are signed in." if choosing else "You are signed in.", "success")
            return redirect(url_for("web.home"))
    return render_template(
        "auth/setup.html",
        form=form,
        choosing=choosing,
        person=link.user,
        link=link,
        privileged=bool(link.user.roles & TWO_FACTOR_ROLES),
        enrolled=mfa.is_enrolled(link.user),
    ), 422 if form.errors else 200
