"""Tests of `films/`."""
