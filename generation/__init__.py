"""Generation backends: every kind of generation behind one small interface (DESIGN.md).

Business code asks ``generation.registry`` for a backend by name and never imports a provider
SDK itself.
"""
