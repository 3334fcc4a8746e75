"""Small helpers any app may use: file responses, log context, pagination, form status.

Nothing here imports a project app, so every layer can depend on it.
"""
