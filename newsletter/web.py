"""The web app: one-click unsubscribe (RFC 8058), the way back in, and the archive of sent issues.

    GET  /unsubscribe/{token}   a page with an Unsubscribe button (a GET alone changes nothing:
                                mail scanners fetch links)
    POST /unsubscribe/{token}   unsubscribes: the RFC 8058 one-click POST (urlencoded or multipart
                                ``List-Unsubscribe=One-Click``) and the page's button; 200, no redirect
    POST /resubscribe/{token}   the confirmation page's "Subscribe again" button
    GET  /unsubscribe           how to unsubscribe (the archive's non-personal unsubscribe link)
    GET  /, /archive            the sent issues, newest first
    GET  /archive/{period_key}  an issue's HTML as sent, with every personal value left blank
    GET  /subscribe             the signup form (email, optional name, a hidden honeypot, a signed time)
    POST /subscribe             a signup: the same page and status for every address (signup.py)
    GET  /confirm/{token}       a page whose script confirms by a POST on load (a button without
                                scripts): a mail scanner's GET confirms nothing
    POST /confirm/{token}       confirms the signup: the address gets the next issue
    POST /webhooks/feedback     a bounce or complaint reported by a relay or a script (JSON, with
                                ``Authorization: Bearer $NEWSLETTER_WEBHOOK_SECRET``); 404 when that
                                variable is unset
    GET  /healthz               "ok", for the proxy in front
    GET  /images/{name}         the story images the emails show (sources/images.py), from [images] folder

A forged, altered or truncated token gets 400 and changes nothing. Database writes run in a
thread pool so a write waiting on SQLite's lock never blocks the event loop. Links inside the
pages are relative, so the app works behind a proxy at any path.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import html
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any, Literal

import anyio
import anyio.to_thread
import jinja2
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from newsletter import preflight, store
from newsletter.compose import list_id
from newsletter.config import Settings
from newsletter.errors import NewsletterError, StoreError
from newsletter.feedback import report_one
from newsletter.models import FeedbackKind, IssueState, SubscriberStatus
from newsletter.render.templates import default_templates
from newsletter.render.tokens import TOKEN
from newsletter.signup import HONEYPOT, Answer, Form, Reply, Signups, read_confirmation
from newsletter.sources.images import FILE_NAME, images_folder
from newsletter.subscribers import (
    resubscribe_address,
    resubscribe_token,
    unsubscribe_address,
    verify_resubscribe_token,
    verify_unsubscribe_token,
)

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16_384  # a one-click body is 26 bytes; the page's form, a few more
ONE_CLICK_CAUSE = "one-click unsubscribe"
PAGE_CAUSE = "unsubscribed on the web page"
RESUBSCRIBE_CAUSE = "resubscribed by the subscriber"

# Our own pages: no scripts, nothing from elsewhere, never framed (a framed button is a clickjacking target).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
    "Cache-Control": "no-store",
}
# The confirmation page confirms by a POST its script makes on load; that script alone may run.
CONFIRM_SCRIPT = 'document.getElementById("confirm").submit();'
CONFIRM_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"].replace(
        "default-src 'none';",
        "default-src 'none'; script-src 'sha256-"
        + base64.b64encode(hashlib.sha256(CONFIRM_SCRIPT.encode()).digest()).decode()
        + "';",
    ),
}
SIGNUP_STATUS = {
    Answer.THANKS: 200,
    Answer.AGAIN: 200,
    Answer.WRONG_ANSWER: 400,
    Answer.INVALID: 400,
    Answer.CLOSED: 403,
    Answer.CONFIRMED: 200,
    Answer.BAD_LINK: 400,
}
PRUNE_SECONDS = 600.0  # how often old signup requests are deleted

# An archived issue: the email's own images and styles, but no scripts and no plugins.
ARCHIVE_HEADERS = {
    "Content-Security-Policy": "script-src 'none'; object-src 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


# Words of the pages, by the newsletter's language ([newsletter] language; others fall back to English).
PAGE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "unsubscribe": "Unsubscribe",
        "unsubscribe_from": "Unsubscribe from {name}?",
        "will_no_longer": "{email} will no longer receive {name}.",
        "nothing_until": "Nothing changes until you press the button.",
        "unsubscribed": "Unsubscribed",
        "you_are_unsubscribed": "You are unsubscribed",
        "no_more": "{email} will receive no more emails from {name}.",
        "mistake": "Was that a mistake?",
        "subscribe_again": "Subscribe again",
        "subscribed_again": "Subscribed again",
        "welcome_back": "Welcome back",
        "again_from_next": "{email} will receive {name} again, from the next issue on.",
        "nothing_changed": "Nothing changed",
        "cannot_change": "This page cannot change the subscription of {email}. To receive {name} again, please write to the sender.",
        "link_not_valid": "Link not valid",
        "this_link_not_valid": "This link is not valid",
        "cut_short": "It may have been cut short or changed on its way. Please use the whole link from the bottom of an email from {name}.",
        "or_write_to": "Or write to",
        "to_unsubscribe": "to unsubscribe.",
        "unsubscribe_from_name": "Unsubscribe from {name}",
        "every_email": "Every email from {name} has an Unsubscribe link at the bottom, made for the address it was sent to. Follow that link to leave the list with one click.",
        "past_issues": "Past issues",
        "past_issues_of": "Past issues of {name}",
        "none_yet": "No issue has been sent yet.",
        "not_found": "Not found",
        "no_such_page": "There is no such page",
        "see_past": "See the past issues of {name}",
        "subscribe": "Subscribe",
        "subscribe_to": "Subscribe to {name}",
        "subscribe_intro": "Get {name} by email. You can leave at any time with the link at the bottom of every issue.",
        "your_email": "Your email address",
        "your_name": "Your name",
        "optional": "(optional)",
        "leave_empty": "Leave this field empty",
        "we_send_a_link": "We will email you a link to confirm: nothing is sent until you follow it.",
        "not_an_address": "That is not an email address we can use:",
        "one_more_step": "One more step: check your address and press Subscribe.",
        "question": "To show you are a person: what is {a} plus {b}? (in digits)",
        "wrong_answer": "That answer was not right. Please try this new question.",
        "numbers": "one two three four five six seven eight nine ten",
        "check_inbox": "Check your inbox",
        "almost_done": "Almost done: check your inbox",
        "thanks_opt_in": "If this address can subscribe, an email with a link to confirm is on its way to it. Follow the link within 7 days to receive {name}.",
        "thank_you": "Thank you",
        "thanks_at_once": "You will receive {name} from the next issue on. An address that left the list before gets an email with a link to confirm first.",
        "not_there": "Nothing after a few minutes? Look in your spam folder, or sign up again tomorrow.",
        "signups_closed": "Signups are closed",
        "closed_why": "{name} does not take signups on this page.",
        "write_to": "To subscribe, please write to",
        "confirm": "Confirm",
        "confirm_to": "Confirm your subscription to {name}",
        "confirm_why_button": "Your browser confirms by itself; if it does not, press the button.",
        "subscribed": "Subscribed",
        "you_are_subscribed": "You are subscribed",
        "from_next_issue": "You will receive {name} from the next issue on.",
        "confirm_link_not_valid": "This link is not valid or has expired",
        "confirm_link_why": "A confirmation link works for 7 days and must be used whole. Sign up again to get a new one.",
        "sign_up_again": "Sign up again",
    },
    "fr": {
        "unsubscribe": "Se désabonner",
        "unsubscribe_from": "Se désabonner de {name} ?",
        "will_no_longer": "{email} ne recevra plus {name}.",
        "nothing_until": "Rien ne change tant que vous n’appuyez pas sur le bouton.",
        "unsubscribed": "Désabonnement",
        "you_are_unsubscribed": "Vous êtes désabonné(e)",
        "no_more": "{email} ne recevra plus de courriels de {name}.",
        "mistake": "Était-ce une erreur ?",
        "subscribe_again": "Se réabonner",
        "subscribed_again": "Réabonnement",
        "welcome_back": "Bon retour parmi nous",
        "again_from_next": "{email} recevra de nouveau {name} dès le prochain numéro.",
        "nothing_changed": "Rien n’a changé",
        "cannot_change": "Cette page ne peut pas modifier l’abonnement de {email}. Pour recevoir de nouveau {name}, écrivez à l’expéditeur.",
        "link_not_valid": "Lien non valide",
        "this_link_not_valid": "Ce lien n’est pas valide",
        "cut_short": "Il a peut-être été tronqué ou modifié en chemin. Utilisez le lien complet en bas d’un courriel de {name}.",
        "or_write_to": "Ou écrivez à",
        "to_unsubscribe": "pour vous désabonner.",
        "unsubscribe_from_name": "Se désabonner de {name}",
        "every_email": "Chaque courriel de {name} porte en bas un lien « Se désabonner » propre à l’adresse qui l’a reçu. Suivez ce lien pour quitter la liste en un clic.",
        "past_issues": "Numéros précédents",
        "past_issues_of": "Numéros précédents de {name}",
        "none_yet": "Aucun numéro n’a encore été envoyé.",
        "not_found": "Page introuvable",
        "no_such_page": "Cette page n’existe pas",
        "see_past": "Voir les numéros précédents de {name}",
        "subscribe": "S’abonner",
        "subscribe_to": "S’abonner à {name}",
        "subscribe_intro": "Recevez {name} par courriel. Vous pourrez vous désabonner à tout moment avec le lien en bas de chaque numéro.",
        "your_email": "Votre adresse électronique",
        "your_name": "Votre nom",
        "optional": "(facultatif)",
        "leave_empty": "Laissez ce champ vide",
        "we_send_a_link": "Nous vous enverrons un lien de confirmation : rien n’est envoyé avant que vous le suiviez.",
        "not_an_address": "Cette adresse électronique n’est pas utilisable :",
        "one_more_step": "Encore une étape : vérifiez votre adresse et appuyez sur « S’abonner ».",
        "question": "Pour montrer que vous êtes une personne : combien font {a} plus {b} ? (en chiffres)",
        "wrong_answer": "Ce n’est pas la bonne réponse. Essayez avec cette nouvelle question.",
        "numbers": "un deux trois quatre cinq six sept huit neuf dix",
        "check_inbox": "Consultez votre boîte de réception",
        "almost_done": "Presque terminé : consultez votre boîte de réception",
        "thanks_opt_in": "Si cette adresse peut s’abonner, un courriel avec un lien de confirmation lui a été envoyé. Suivez ce lien dans les 7 jours pour recevoir {name}.",
        "thank_you": "Merci",
        "thanks_at_once": "Vous recevrez {name} dès le prochain numéro. Une adresse qui avait quitté la liste reçoit d’abord un courriel avec un lien de confirmation.",
        "not_there": "Rien après quelques minutes ? Regardez dans vos courriers indésirables, ou réessayez demain.",
        "signups_closed": "Les inscriptions sont fermées",
        "closed_why": "{name} ne prend pas d’inscriptions sur cette page.",
        "write_to": "Pour vous abonner, écrivez à",
        "confirm": "Confirmer",
        "confirm_to": "Confirmez votre abonnement à {name}",
        "confirm_why_button": "Votre navigateur confirme de lui-même ; sinon, appuyez sur le bouton.",
        "subscribed": "Abonnement",
        "you_are_subscribed": "Vous êtes abonné(e)",
        "from_next_issue": "Vous recevrez {name} dès le prochain numéro.",
        "confirm_link_not_valid": "Ce lien n’est pas valide ou a expiré",
        "confirm_link_why": "Un lien de confirmation est valable 7 jours et doit être utilisé en entier. Inscrivez-vous de nouveau pour en recevoir un autre.",
        "sign_up_again": "S’inscrire de nouveau",
    },
}


def secret_warning(settings: Settings) -> str | None:
    return settings.secret_warning()


class WebApp:
    """The pages, bound to one newsletter's settings and database."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.list_id = list_id(settings)
        self.secret = settings.secret
        self.name = settings.newsletter.name
        self.mailto = settings.web.unsubscribe_mailto or parseaddr(settings.sender.from_)[1]
        language = settings.newsletter.language.split("-")[0].lower()
        self.lang = language if language in PAGE_TEXT else "en"
        self.text = PAGE_TEXT[self.lang]
        self._writer: anyio.CapacityLimiter | None = None
        self.signups = Signups(settings, engine, time.time)
        self._pruned_at = 0.0
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(default_templates() / "web")),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    async def write(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run a database write in a worker thread, one at a time, so the event loop never waits on
        SQLite's lock and this process's writers do not contend in its busy handler (bench/unsubscribe.py:
        the same ~700 requests/s, but the slowest answer halves against 40 concurrent writers)."""
        if self._writer is None:
            self._writer = anyio.CapacityLimiter(1)
        try:
            return await anyio.to_thread.run_sync(func, *args, limiter=self._writer)
        except SQLAlchemyError as exc:  # locked past busy_timeout, disk full: the sender should retry
            raise HTTPException(
                503, f"the database is busy, please try again: {exc.__class__.__name__}"
            ) from exc
        except StoreError as exc:  # the database file was deleted or replaced under us
            log.error("%s", exc)
            raise HTTPException(503, "the database is unavailable, please try again later") from exc

    def page(self, request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        depth = request.url.path.count("/") - 1
        body = self.templates.get_template(template).render(
            name=self.name,
            lang=self.lang,
            t=self.say,
            accent=self.settings.theme.accent,
            mailto=self.mailto,
            prefix="../" * max(0, depth),
            **values,
        )
        return HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)

    def say(self, key: str, **values: str) -> str:
        """A sentence of the pages in the newsletter's language, with its name (and the values) filled in."""
        return self.text[key].format(name=self.name, **values)

    def invalid(self, request: Request) -> HTMLResponse:
        return self.page(request, "invalid.html.j2", status_code=400)

    # --- unsubscribe ---------------------------------------------------------------------

    async def unsubscribe_form(self, request: Request) -> Response:
        email = verify_unsubscribe_token(self.secret, self.list_id, request.path_params["token"])
        if email is None:
            return self.invalid(request)
        row = await run_in_threadpool(store.subscribers.get, self.engine, email)
        if (
            row is not None and row.status == SubscriberStatus.UNSUBSCRIBED
        ):  # back on the page: offer the way back in
            again = resubscribe_token(self.secret, self.list_id, email)
            return self.page(request, "unsubscribed.html.j2", email=email, resubscribe_token=again)
        return self.page(request, "unsubscribe.html.j2", email=email)

    async def unsubscribe(self, request: Request) -> Response:
        token = request.path_params["token"]
        email = verify_unsubscribe_token(self.secret, self.list_id, token)
        if email is None:
            return self.invalid(request)
        via = await _form_field(request, "via")
        cause = PAGE_CAUSE if via == "page" else ONE_CLICK_CAUSE
        await self.write(unsubscribe_address, self.settings, self.engine, email, cause)
        again = resubscribe_token(self.secret, self.list_id, email)
        return self.page(request, "unsubscribed.html.j2", email=email, resubscribe_token=again)

    async def resubscribe(self, request: Request) -> Response:
        email = verify_resubscribe_token(self.secret, self.list_id, request.path_params["token"])
        if email is None:
            return self.invalid(request)
        changed = await self.write(resubscribe_address, self.settings, self.engine, email, RESUBSCRIBE_CAUSE)
        status = ""
        if not changed:
            row = await run_in_threadpool(store.subscribers.get, self.engine, email)
            status = row.status if row else "not on the list"
            if status == SubscriberStatus.ACTIVE:
                changed = True  # pressed twice: already back
        return self.page(request, "resubscribed.html.j2", email=email, changed=changed, status=status)

    # --- feedback ---------------------------------------------------------------------------

    async def feedback_webhook(self, request: Request) -> Response:
        secret = os.environ.get(self.settings.bounces.webhook_secret_env, "")
        if not secret:
            raise HTTPException(404)
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return JSONResponse({"error": "wrong or missing Authorization: Bearer <secret>"}, 401)
        try:
            hook = WebhookReport.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            return JSONResponse({"error": problems}, 400)
        kind = (
            FeedbackKind.COMPLAINT
            if hook.type == "complaint"
            else (FeedbackKind.PERMANENT if hook.permanent else FeedbackKind.TRANSIENT)
        )
        found = await self.write(
            functools.partial(
                report_one,
                self.settings,
                self.engine,
                kind=kind,
                email=hook.email,
                return_path=hook.return_path,
                message_id_=hook.message_id,
                status=hook.status,
                diagnostic=hook.diagnostic,
                ref=hook.id or None,
            )
        )
        if found is None:
            return JSONResponse({"matched": False, "error": "it names none of our messages"}, 200)
        suppressed = [{"email": e, "status": s} for e, s in found.suppressed]
        return JSONResponse({"matched": True, "duplicate": found.seen_before > 0, "suppressed": suppressed})

    async def unsubscribe_help(self, request: Request) -> Response:
        return self.page(request, "unsubscribe_help.html.j2")

    # --- signups ---------------------------------------------------------------------------

    async def signup_form(self, request: Request) -> Response:
        if self.signups.closed:
            return self.page(request, "signups_closed.html.j2")
        return self.signup_page(request, 200)

    def signup_page(
        self,
        request: Request,
        status: int,
        email: str = "",
        problem: str = "",
        again: bool = False,
        wrong: bool = False,
    ) -> Response:
        """The form, with a fresh stamp (and, with [web] signup_question, its question in words)."""
        stamp = self.signups.stamp()
        asked = self.signups.question(stamp)
        words = self.text["numbers"].split()
        ask = self.say("question", a=words[asked[0] - 1], b=words[asked[1] - 1]) if asked else ""
        return self.page(
            request,
            "subscribe.html.j2",
            status,
            stamp=stamp,
            email=email,
            problem=problem,
            again=again,
            wrong=wrong,
            question=ask,
        )

    async def signup(self, request: Request) -> Response:
        fields = await _form_fields(request, ("email", "name", HONEYPOT, "stamp", "answer"))
        form = Form(fields["email"], fields["name"], fields[HONEYPOT], fields["stamp"], fields["answer"])
        client = request.client.host if request.client else ""
        reply = await self.write(self.signups.take, form, client)
        if time.time() - self._pruned_at > PRUNE_SECONDS:
            self._pruned_at = time.time()
            await self.write(self.signups.prune)
        return self.signup_answer(request, reply)

    async def confirm_form(self, request: Request) -> Response:
        if self.signups.closed:
            return self.signup_answer(request, Reply(Answer.CLOSED))
        token = request.path_params["token"]
        if read_confirmation(self.secret, self.list_id, token, time.time()) is None:
            return self.signup_answer(request, Reply(Answer.BAD_LINK))
        response = self.page(request, "confirm.html.j2", script=Markup(CONFIRM_SCRIPT))
        response.headers.update(CONFIRM_HEADERS)
        return response

    async def confirm(self, request: Request) -> Response:
        reply = await self.write(self.signups.confirm, request.path_params["token"])
        return self.signup_answer(request, reply)

    def signup_answer(self, request: Request, reply: Reply) -> Response:
        """The page for a reply; its follow-up (an email) runs after the answer is sent."""
        status = SIGNUP_STATUS[reply.answer]
        if reply.answer in (Answer.AGAIN, Answer.INVALID, Answer.WRONG_ANSWER):
            response = self.signup_page(
                request,
                status,
                email=reply.email,
                problem=reply.problem,
                again=reply.answer == Answer.AGAIN,
                wrong=reply.answer == Answer.WRONG_ANSWER,
            )
        else:
            template = {
                Answer.THANKS: "subscribe_thanks.html.j2",
                Answer.CLOSED: "signups_closed.html.j2",
                Answer.CONFIRMED: "confirmed.html.j2",
                Answer.BAD_LINK: "confirm_invalid.html.j2",
            }[reply.answer]
            response = self.page(
                request, template, status, double_opt_in=self.settings.subscribers.double_opt_in
            )
        if reply.follow_up is not None:
            response.background = BackgroundTask(reply.follow_up)
        return response

    # --- the editors' links (newsletter.preflight) ---------------------------------------

    PREFLIGHT_PAGES = {
        preflight.HOLD: ("Hold issue {key}?", "It will not go out until it is released.", "Hold this issue"),
        preflight.SEND: (
            "Send issue {key} now?",
            "It goes out to the whole list within a minute.",
            "Send now",
        ),
        preflight.RELEASE: (
            "Release issue {key}?",
            "It goes out at its time, or within a minute if that time has passed.",
            "Release it",
        ),
    }

    async def preflight_form(self, request: Request) -> Response:
        """A GET (a person, or a mail scanner following links) only shows the button."""
        found = preflight.read_token(self.settings, request.path_params["token"])
        if found is None:
            return self.invalid(request)
        title, explain, button = self.PREFLIGHT_PAGES[found.action]
        return self.page(
            request,
            "preflight.html.j2",
            title=title.format(key=found.period_key),
            explain=explain,
            button=button,
        )

    async def preflight_act(self, request: Request) -> Response:
        found = preflight.read_token(self.settings, request.path_params["token"])
        if found is None:
            return self.invalid(request)
        outcome = await self.write(self._preflight_act, found)
        note = ""
        if outcome.changed and found.action == preflight.HOLD and outcome.row is not None:
            try:
                await run_in_threadpool(preflight.mail_held, self.settings, outcome.row)
                note = "An email with the link that releases it is on its way to the editors."
            except NewsletterError as exc:
                log.error("cannot email the release link: %s", exc.message)
                note = f"The release link could not be emailed; run `newsletter release {found.period_key}`."
        return self.page(
            request,
            "preflight_done.html.j2",
            status_code=200 if outcome.changed else 409,
            period_key=found.period_key,
            headline="Done" if outcome.changed else "Nothing changed",
            message=outcome.message,
            note=note,
        )

    def _preflight_act(self, found: preflight.Link) -> preflight.Outcome:
        return preflight.act(
            self.settings,
            self.engine,
            found.period_key,
            found.action,
            by="link",
            version=found.version,
            now=datetime.now(UTC),
        )

    # --- the archive ---------------------------------------------------------------------

    async def archive(self, request: Request) -> Response:
        issues = await run_in_threadpool(store.issues.archived, self.engine)
        response = self.page(request, "archive.html.j2", issues=issues)
        response.headers["Cache-Control"] = "no-cache"
        del response.headers["X-Robots-Tag"]
        return response

    async def archived_issue(self, request: Request) -> Response:
        row = await run_in_threadpool(store.issues.get, self.engine, request.path_params["period_key"])
        if row is None or row.state not in (IssueState.SENDING, IssueState.SENT) or not row.html:
            return self.page(request, "not_found.html.j2", status_code=404)
        return HTMLResponse(self.impersonal(row.html), headers=ARCHIVE_HEADERS)

    def impersonal(self, body: str) -> str:
        """An issue's HTML as sent, with no one's name or address: every token blank but the
        unsubscribe link, which points at the page explaining how to unsubscribe."""
        base = self.settings.web.base_url.rstrip("/")
        values = {
            "unsubscribe_url": f"{base}/unsubscribe",
            "unsubscribe_mailto": f"mailto:{self.mailto}?subject=unsubscribe" if self.mailto else "",
        }
        return TOKEN.sub(lambda m: html.escape(values.get(m[1], "")), body)

    async def error_page(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 503:
            return PlainTextResponse(exc.detail, status_code=503, headers={"Retry-After": "60"})
        if isinstance(exc, HTTPException) and exc.status_code != 404:
            return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
        return self.page(request, "not_found.html.j2", status_code=404)


async def _form_field(request: Request, name: str) -> str:
    """One field of a urlencoded or multipart body; "" when there is none or the body is not a form."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return ""
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:  # never read a big or unsized body
        return ""
    try:
        form = await request.form(max_files=0, max_fields=20)
    except Exception:  # a malformed body is still a POST to a valid link: the unsubscribe stands
        return ""
    value = form.get(name)
    await form.close()
    return value if isinstance(value, str) else ""


async def _form_fields(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """Fields of a urlencoded or multipart body ("" for each one missing, or when the body is not a form)."""
    found = dict.fromkeys(names, "")
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return found
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        return found
    try:
        form = await request.form(max_files=0, max_fields=20)
    except Exception:  # a malformed body: answered like an empty form
        return found
    for name in names:
        value = form.get(name)
        found[name] = value if isinstance(value, str) else ""
    await form.close()
    return found


async def _healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


def _images(settings: Settings) -> Callable[[Request], Any]:
    """The prepared story images; only names the image step makes, so no other file is reachable."""
    folder = images_folder(settings)

    async def image(request: Request) -> Response:
        name = request.path_params["name"]
        if not FILE_NAME.fullmatch(name) or not (folder / name).is_file():
            raise HTTPException(404)
        # A name stands for one source URL, fetched once: its bytes do not change.
        return FileResponse(folder / name, headers={"Cache-Control": "public, max-age=2592000"})

    return image


class WebhookReport(BaseModel):
    """What a relay or a script reports: an address (with the Message-ID or return path of the
    message when it has them), or only the return path (VERP) of the message that bounced."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["bounce", "complaint"]
    email: str = ""
    permanent: bool = True  # a bounce: 5.x.x (true) or 4.x.x (false)
    status: str = ""
    diagnostic: str = ""
    message_id: str = ""
    return_path: str = ""
    id: str = ""  # the report's own identity: a retried call is counted once

    @model_validator(mode="after")
    def names_a_message(self) -> WebhookReport:
        if not self.email and not self.return_path:
            raise ValueError("give email (the address that bounced or complained) or return_path")
        return self


def create_app(settings: Settings, engine: Engine | None = None) -> Starlette:
    """The Starlette app for one newsletter (opens its database unless ``engine`` is given)."""
    web = WebApp(settings, engine or store.open_engine(settings.database_url, history=settings.history_path))
    routes = [
        Route("/", web.archive, methods=["GET"]),
        Route("/archive", web.archive, methods=["GET"]),
        Route("/archive/{period_key}", web.archived_issue, methods=["GET"]),
        Route("/unsubscribe", web.unsubscribe_help, methods=["GET"]),
        Route("/unsubscribe/{token}", web.unsubscribe_form, methods=["GET"]),
        Route("/unsubscribe/{token}", web.unsubscribe, methods=["POST"]),
        Route("/resubscribe/{token}", web.resubscribe, methods=["POST"]),
        Route("/subscribe", web.signup_form, methods=["GET"]),
        Route("/subscribe", web.signup, methods=["POST"]),
        Route("/confirm/{token}", web.confirm_form, methods=["GET"]),
        Route("/confirm/{token}", web.confirm, methods=["POST"]),
        Route("/webhooks/feedback", web.feedback_webhook, methods=["POST"]),
        Route("/preflight/{token}", web.preflight_form, methods=["GET"]),
        Route("/preflight/{token}", web.preflight_act, methods=["POST"]),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/images/{name}", _images(settings), methods=["GET"]),
    ]
    handlers: dict[Any, Callable[..., Any]] = {404: web.error_page, 503: web.error_page}
    return Starlette(routes=routes, exception_handlers=handlers)
