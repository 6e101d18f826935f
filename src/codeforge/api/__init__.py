"""The web API: a FastAPI adapter over the core. ``create_app(settings)`` builds it."""
