"""CodeForge: turn blueprints into working projects and keep them in step."""

__version__ = "0.1.0"
