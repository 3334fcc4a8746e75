"""Tests of `dreams/`."""
