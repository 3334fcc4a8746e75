"""Tests of `characters/`."""
