"""Jobs: long work (generation from git, blueprint registration, ...) run off the request.

The ``jobs`` table is the source of truth (``store``); a queue only carries job ids
(``codeforge.cache.jobs``: RQ on Redis with JSON payloads, or a thread pool in the
API process without Redis); ``runner`` claims a row, runs its kind (``kinds``),
stores the result (``codeforge.cache.artifacts``) and records it exactly once;
``runtime`` wires them into an API or worker process.
"""
