"""The company's own plan (it pays the platform): status, prices, Upgrade (Stripe Checkout), Manage billing
(Stripe customer portal).

Checkout and the portal keep working when the company is read-only: an expired trial must be able to pay.
"""

from __future__ import annotations

from flask import flash, g, request, url_for
from flask_login import current_user

from saas.extensions import htmx
from saas.forms import attempt
from saas.htmx import redirect_to, render
from saas.models import Role, SubscriptionStatus
from saas.money import format_yuan
from saas.security import CSP
from saas.subscriptions import services, stripe_client
from saas.subscriptions.plans import PLANS, billing_status, household_limit, live_household_count
from tenants.access import allowed_when_read_only, require_role
from tenants.plan import bp

SUCCESS_POLLS = 20  # the return page checks for Stripe's confirmation every 3 s for a minute


def _allow_stripe_redirects(response):
    """The forms on these pages post here and are answered with a 303 to Stripe; CSP form-action must allow it."""
    origins = " ".join(stripe_client.redirect_origins())
    response.headers["Content-Security-Policy"] = CSP.replace("form-action 'self'", f"form-action 'self' {origins}")
    return response


def _context() -> dict:
    company = g.company
    households = live_household_count()
    return {
        "billing": billing_status(company),
        "plans": PLANS,
        "households": households,
        "household_limit": household_limit(company),
        "format_yuan": format_yuan,
        "stripe_ready": stripe_client.is_configured(),
        "has_customer": bool(company.stripe_customer_id),
        "card_subscription_live": bool(company.stripe_subscription_id)
        and company.subscription_status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE),
        "attempt": services.new_attempt(),
    }


def _page(*, status: int = 200, plan_error: str | None = None):
    response = render("tenants/plan/index.html", status=status, plan_error=plan_error, **_context())
    return _allow_stripe_redirects(response)


def _to_stripe(url: str):
    return redirect_to(url)  # an XMLHttpRequest cannot follow a redirect to another site: htmx navigates


@bp.get("/billing")
@require_role(Role.ADMIN)
def index():
    return _page()


@bp.post("/billing/checkout")
@allowed_when_read_only
@require_role(Role.ADMIN)
def checkout():
    # Not saas.forms.submit/attempt: a refused plan re-renders the page with the message at the plans, any
    # other refusal is flashed, and success leaves for Stripe.
    try:
        url = services.start_checkout(
            g.company, request.form.get("plan", ""), actor=current_user, attempt=request.form.get("attempt"),
            success_url=url_for(".success", _external=True), cancel_url=url_for(".index", _external=True),
        )
    except services.SubscriptionError as exc:
        if exc.field == "plan":
            return _page(status=422, plan_error=str(exc.message))
        flash(str(exc.message), "danger")
        return redirect_to(url_for(".index"))
    return _to_stripe(url)


@bp.post("/billing/portal")
@allowed_when_read_only
@require_role(Role.ADMIN)
def portal():
    return attempt(
        lambda: services.open_portal(g.company, attempt=request.form.get("attempt"),
                                     return_url=url_for(".index", _external=True)),
        next_url=lambda url: url,  # Stripe's portal: htmx navigates there (HX-Redirect)
        failure_url=url_for(".index"),
    )


@bp.get("/billing/success")
@require_role(Role.ADMIN)
def success():
    try:
        poll = max(0, min(int(request.args.get("poll", "0")), SUCCESS_POLLS))
    except ValueError:
        poll = 0
    block = "status_block" if htmx and htmx.target == "billing-status" else None
    response = render("tenants/plan/success.html", block, poll=poll, max_polls=SUCCESS_POLLS, **_context())
    return _allow_stripe_redirects(response)
