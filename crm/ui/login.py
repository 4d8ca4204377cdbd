"""Sign-in and sign-out with streamlit-authenticator, users stored in the database.

- Passwords are checked by streamlit-authenticator's login controller against the bcrypt
  hashes of the active users in the database (credentials are re-read on every sign-in, so a
  new or deactivated user takes effect at once); it also sets the session-state keys
  (``authentication_status``, ``username``, ``name``) the rest of the app reads.
- Our own form comes first so throttling (``crm.auth.check_login_allowed``) sees the username
  before any password is checked; the library's ``max_login_attempts`` is not used (it keeps
  counts in the credentials dict and never lets go).
- "Remember me" is a random session token in the ``pulse_crm_session`` cookie; the database
  keeps an HMAC of it, so sign-out revokes the cookie server-side. The library's own JWT
  cookie (``Authenticate``) is not used: it cannot be revoked, and its login widget sleeps
  (``login_sleep_time``) and reruns in ways that lose deep links.
- A second, long-lived ``pulse_crm_device`` cookie (a signed random device id, written at every
  successful sign-in) tells browsers behind the same IP address apart for throttling
  (``crm.auth.LoginClient``); it never signs anyone in.
- The cookie is read from the HTTP request (``st.context.cookies``) on the first run, so a deep
  link or a reload opens the requested page directly: no sleep, no ``st.rerun()`` after
  sign-in or sign-out (the cookie component must get to render).
"""

from __future__ import annotations

from datetime import timedelta

import extra_streamlit_components as stx
import pandas as pd
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.delta_generator import DeltaGenerator
from streamlit_authenticator.controllers import AuthenticationController

from crm.auth import (
    DEVICE_DAYS,
    SESSION_DAYS,
    LoginClient,
    UserError,
    actor_for_session,
    check_login_allowed,
    device_id_from_token,
    has_users,
    new_device_token,
    record_login_attempt,
    revoke_session,
    start_session,
    verify_password,
)
from crm.permissions import Actor
from crm.schema import users, utc_now
from crm.settings import get_settings
from crm.ui.first_run import offer_first_run
from crm.ui.session import (
    SESSION_TOKEN_STATE,
    CookieKeyError,
    cookie_key,
    current_actor,
    ensure_navigation_mode,
    forget_sign_in,
)

__all__ = ["DEVICE_COOKIE", "SESSION_COOKIE", "cookie_key", "sign_in", "sign_out_button"]

SESSION_COOKIE = "pulse_crm_session"
DEVICE_COOKIE = "pulse_crm_device"
# Session-state flags: a cookie still to be written to / removed from the browser.
_COOKIE_TO_SET = "pulse_cookie_to_set"
_COOKIE_TO_DELETE = "pulse_cookie_to_delete"
_DEVICE_COOKIE_TO_SET = "pulse_device_cookie_to_set"
# Session-state key of this browser's device cookie value once known (read or newly issued).
_DEVICE_TOKEN = "pulse_device_token"
# Session-state key of the last refusal shown under the sign-in form.
_SIGN_IN_MESSAGE = "pulse_sign_in_message"
# Checked for unknown usernames so a wrong username takes as long as a wrong password.
_DUMMY_HASH = "$2b$12$wDj5aFqKuHx32Y4jbdG33.iEAuIhQuYg3OozVU/2RXAZMeMF2h6qO"


def _cookie_key_or_stop() -> str:
    try:
        return cookie_key()
    except CookieKeyError as error:
        st.error(str(error))
        st.stop()
        raise  # st.stop() raises; this keeps type checkers informed


def _credentials(engine: Engine) -> dict[str, dict[str, dict[str, str]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(users.c.username, users.c.full_name, users.c.email, users.c.password_hash).where(
                users.c.is_active.is_(True)
            )
        ).all()
    return {
        "usernames": {
            row.username: {"name": row.full_name, "email": row.email or "", "password": row.password_hash}
            for row in rows
        }
    }


def _password_checker(engine: Engine, key: str) -> AuthenticationController:
    """streamlit-authenticator's login controller over the active users' bcrypt hashes.

    The controller, not ``stauth.Authenticate``: the latter also mounts the library's cookie
    component, whose first value triggers a rerun that could cut a sign-in run short, and
    its JWT cookie cannot be revoked anyway (see module docstring).
    """
    return AuthenticationController(_credentials(engine), auto_hash=False, secret_key=key)


def _device_token(key: str) -> str | None:
    """This browser's valid device cookie value: issued in this session, or sent by the browser."""
    token = st.session_state.get(_DEVICE_TOKEN) or _request_cookie(DEVICE_COOKIE)
    if device_id_from_token(token, key) is None:
        return None
    st.session_state[_DEVICE_TOKEN] = token
    return token


def _login_client(key: str) -> LoginClient:
    """Who is trying: the connection's IP address (None on localhost) and the device id, if any."""
    return LoginClient(ip_address=st.context.ip_address, device_id=device_id_from_token(_device_token(key), key))


def _remember_device(key: str) -> LoginClient:
    """At a successful sign-in: keep (or issue) the device id and (re)write its cookie for DEVICE_DAYS."""
    token = _device_token(key) or new_device_token(key)
    st.session_state[_DEVICE_TOKEN] = token
    st.session_state[_DEVICE_COOKIE_TO_SET] = token
    return _login_client(key)


def _cookie_options(days: int) -> dict[str, object]:
    return {
        "path": "/",
        "expires": (utc_now() + timedelta(days=days)).isoformat() + "Z",
        "sameSite": "strict",
        "secure": _secure_cookies(),
    }


def _secure_cookies() -> bool:
    """Whether cookies are marked Secure, so they never travel in clear text.

    Behind a TLS-terminating proxy ``st.context.url`` is http although the browser uses https:
    CRM_COOKIE_SECURE forces the flag there.
    """
    return get_settings().cookie_secure or (isinstance(st.context.url, str) and st.context.url.startswith("https://"))


def _sync_cookie() -> None:
    """Write or remove the cookies in the browser until the cookie component confirms it."""
    pending_set = st.session_state.get(_COOKIE_TO_SET)
    pending_delete = st.session_state.get(_COOKIE_TO_DELETE)
    pending_device = st.session_state.get(_DEVICE_COOKIE_TO_SET)
    if not pending_set and not pending_delete and not pending_device:
        return
    # The component iframes have height 0; this hides their empty containers.
    st.html("<style>.element-container:has(iframe[height='0']) { display: none; }</style>")
    component = stx.CookieManager(key="pulse_cookie_manager").cookie_manager
    for state_key, cookie, days, key_prefix in (
        (_COOKIE_TO_SET, SESSION_COOKIE, SESSION_DAYS, "pulse_set_cookie"),
        (_DEVICE_COOKIE_TO_SET, DEVICE_COOKIE, DEVICE_DAYS, "pulse_set_device"),
    ):
        value = st.session_state.get(state_key)
        if not value:
            continue
        # One component key per value, so a new token is written even if an older one was confirmed.
        done = component(
            method="set",
            cookie=cookie,
            value=value,
            options=_cookie_options(days),
            key=f"{key_prefix}_{value[:8]}",
            default=False,
        )
        if done:
            st.session_state.pop(state_key, None)
    if pending_delete:
        done = component(method="delete", cookie=SESSION_COOKIE, key="pulse_delete_cookie", default=False)
        if done:
            st.session_state.pop(_COOKIE_TO_DELETE, None)


def _request_cookie(name: str) -> str | None:
    """A cookie the browser sent with this connection (read once, at connect time)."""
    value = st.context.cookies.get(name)
    # Outside a real browser connection (AppTest) the cookie mapping holds no strings.
    return value if isinstance(value, str) and value else None


def _browser_cookie() -> str | None:
    """The session cookie the browser sent with this connection (read once, at connect time)."""
    return _request_cookie(SESSION_COOKIE)


def _restore_from_cookie(engine: Engine, key: str) -> Actor | None:
    token = _browser_cookie()
    if not token or st.session_state.get(_COOKIE_TO_DELETE):
        return None
    actor = actor_for_session(engine, token, key)
    if actor is None:
        return None
    st.session_state["authentication_status"] = True
    st.session_state["username"] = actor.username
    st.session_state[SESSION_TOKEN_STATE] = token
    return actor


def _show_demo_accounts() -> None:
    from crm.demo import DEMO_ACCOUNTS

    with st.expander("Demo accounts", expanded=True, icon=":material/key:"):
        st.caption("Demo mode: these accounts come with the demo data. Never enable demo mode in production.")
        st.table(
            pd.DataFrame(
                [
                    {"Username": username, "Password": password, "Role": role}
                    for username, (role, password) in DEMO_ACCOUNTS.items()
                ]
            ).set_index("Username")
        )


def _login_form_contents(engine: Engine, key: str) -> Actor | None:
    st.title("Pulse CRM")
    if not has_users(engine) and not offer_first_run(engine):
        return None
    with st.form("sign_in", clear_on_submit=False, enter_to_submit=True):
        st.subheader("Sign in")
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    message = st.empty()
    if earlier := st.session_state.get(_SIGN_IN_MESSAGE):
        message.error(earlier)
    if get_settings().demo_mode:
        _show_demo_accounts()
    if not submitted:
        return None

    def refuse(text: str) -> None:
        # Kept in session state so that any later run (another widget, a cookie component)
        # still shows why the last attempt failed.
        st.session_state[_SIGN_IN_MESSAGE] = text
        message.error(text)

    username = username.strip().lower()
    if not username or not password:
        refuse("Enter your username and password.")
        return None
    client = _login_client(key)
    decision = check_login_allowed(engine, username, client)
    if not decision.allowed:
        refuse(decision.message())
        return None
    checker = _password_checker(engine, key)
    known = username in checker.authentication_model.credentials["usernames"]
    if not known:
        verify_password(password, _DUMMY_HASH)
    succeeded = bool(known and checker.login(username, password))
    if succeeded:
        client = _remember_device(key)  # the success is recorded under the device, which becomes known
    record_login_attempt(engine, username, client, succeeded)
    if not succeeded:
        forget_sign_in()
        refuse("Username or password is incorrect.")
        return None
    try:
        token = start_session(engine, username, key)
    except UserError as error:  # deactivated between the password check and now
        forget_sign_in()
        refuse(str(error))
        return None
    st.session_state.pop(_SIGN_IN_MESSAGE, None)
    st.session_state[SESSION_TOKEN_STATE] = token
    st.session_state[_COOKIE_TO_SET] = token
    st.session_state.pop(_COOKIE_TO_DELETE, None)
    return current_actor(engine)


def _login_form(engine: Engine, key: str, gate: DeltaGenerator) -> Actor | None:
    """The sign-in form inside ``gate``, cleared once the user is signed in (same run, no rerun)."""
    with gate.container():
        actor = _login_form_contents(engine, key)
    if actor is not None:
        gate.empty()
    return actor


def sign_in(engine: Engine) -> Actor | None:
    """The signed-in user: from session state, else the session cookie, else the sign-in form.

    None while nobody is signed in, and when the cookie key is unusable (the reason is shown).
    Database errors propagate (Home.py shows them in one line).
    """
    ensure_navigation_mode()
    # The same two slots on every run, so the page below never shifts position between runs
    # (a shift makes Streamlit show the old and the new page content together for a moment).
    gate = st.empty()
    cookie_slot = st.container()
    try:
        key = cookie_key()
    except CookieKeyError as error:
        st.error(str(error))
        return None
    actor = current_actor(engine) or _restore_from_cookie(engine, key) or _login_form(engine, key, gate)
    with cookie_slot:
        _sync_cookie()
    return actor


def _sign_out(engine: Engine, key: str) -> None:
    """Button callback: revoke the session server-side, then forget it in this browser."""
    tokens = {st.session_state.get(SESSION_TOKEN_STATE), _browser_cookie()}
    for token in tokens - {None, ""}:
        revoke_session(engine, token, key)
    forget_sign_in()
    st.session_state.pop(_COOKIE_TO_SET, None)
    st.session_state[_COOKIE_TO_DELETE] = True


def sign_out_button(engine: Engine) -> None:
    """A sidebar button that signs out (takes effect on the run it triggers, without st.rerun)."""
    st.sidebar.button(
        "Sign out",
        icon=":material/logout:",
        on_click=_sign_out,
        args=(engine, _cookie_key_or_stop()),
        key="pulse_sign_out",
    )
