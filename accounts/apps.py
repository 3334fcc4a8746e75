from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Accounts: the email-keyed user model and sign-in (django-allauth)."""

    name = "accounts"
    # allauth's own app is already labelled "Accounts" in the admin.
    verbose_name = "Users"
