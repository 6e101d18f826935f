"""Fixtures of the deploy checks: the shared Redis for the tests that start a worker, and
the CodeForge images built once per session (image_support.py)."""

from cache.redis_support import redis_url

from .image_support import codeforge_ai_image, codeforge_image, stack_images

__all__ = ["codeforge_ai_image", "codeforge_image", "redis_url", "stack_images"]
