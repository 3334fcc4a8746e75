from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # allauth's own app is already labelled "Accounts" in the admin.
    verbose_name = "Users"
