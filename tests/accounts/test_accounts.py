"""Accounts: sign up and log in by email only, password change and reset, email verification
(optional on one machine, mandatory once DEBUG is off) and allauth's rate limits."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from tests.support import PASSWORD, PRODUCTION_ENV

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_sign_up_by_email_logs_in_and_lands_on_history(client, django_user_model):
    form = client.get(reverse("account_signup")).content.decode()
    assert 'name="email"' in form and 'name="username"' not in form
    response = client.post(
        reverse("account_signup"),
        {"email": "New.Person@Example.com", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("history:list")
    user = django_user_model.objects.get()
    assert user.email == "new.person@example.com"
    assert response.context["user"].is_authenticated


def test_duplicate_email_is_refused(client, user):
    response = client.post(
        reverse("account_signup"),
        {"email": "ALICE@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert "A user is already registered with this email address." in response.content.decode()


def test_login_by_email_and_wrong_password(client, user):
    bad = client.post(reverse("account_login"), {"login": user.email, "password": "nope nope"})
    assert "The email address and/or password you specified are not correct." in (
        bad.content.decode()
    )
    good = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert good.status_code == 302 and good["Location"] == reverse("history:list")


def test_password_change_and_logout(alice_client, user):
    response = alice_client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a new long passphrase 7",
            "password2": "a new long passphrase 7",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a new long passphrase 7")
    alice_client.post(reverse("account_logout"))
    assert alice_client.get(reverse("history:list")).status_code == 302


def test_password_reset_mails_a_working_link(client, user):
    client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+", mail.outbox[0].body).group(0)
    form_page = client.get(link, follow=True)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    client.post(action, {"password1": "reset passphrase 99", "password2": "reset passphrase 99"})
    user.refresh_from_db()
    assert user.check_password("reset passphrase 99")


def test_mandatory_verification_blocks_login_until_confirmed(client, settings, django_user_model):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    response = client.post(
        reverse("account_signup"),
        {"email": "strict@example.com", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    assert "Verify Your Email Address" in response.content.decode()
    assert not response.context["user"].is_authenticated
    assert "Please confirm" in mail.outbox[0].subject or "confirm" in mail.outbox[0].body.lower()


def test_debug_off_makes_verification_mandatory():
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "dreamsite.settings"}
    env.pop("ACCOUNT_EMAIL_VERIFICATION", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; print(s.ACCOUNT_EMAIL_VERIFICATION)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "mandatory"


def test_repeated_failed_logins_are_rate_limited(client, user):
    for _ in range(5):
        client.post(reverse("account_login"), {"login": user.email, "password": "wrong guess"})
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert "Too many failed login attempts. Try again later." in response.content.decode()


@pytest.mark.services
def test_sessions_are_read_from_redis_and_survive_its_restart(alice_client, user):
    """With a shared Redis cache a signed-in page reads its session from Redis (no SQL), and
    an emptied Redis (a restart) signs nobody out: sessions are written to the database too."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    alice_client.get(reverse("history:list"))  # a first read may fill the cache
    with CaptureQueriesContext(connection) as captured:
        assert alice_client.get(reverse("history:list")).status_code == 200
    assert not [q["sql"] for q in captured if "django_session" in q["sql"]]

    cache.clear()
    response = alice_client.get(reverse("history:list"))
    assert response.status_code == 200 and user.email in response.content.decode()


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(alice_client):
    from django.test import Client

    stolen = Client()
    stolen.cookies["sessionid"] = alice_client.cookies["sessionid"].value
    assert stolen.get(reverse("history:list")).status_code == 200
    alice_client.post(reverse("account_logout"))
    response = stolen.get(reverse("history:list"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
