"""Tests of `accounts/`."""
