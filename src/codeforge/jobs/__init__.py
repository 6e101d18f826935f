"""Jobs: long work (generation from git, blueprint registration, ...) run off the request.

The ``jobs`` table is the source of truth (``codeforge.app.jobstore``); a queue only
carries job ids (``codeforge.app.queue``: RQ on Redis with JSON payloads, or a thread
pool in the API process without Redis); ``runner`` claims a row, runs its kind
(``kinds``), stores the result (the artifact store) and records it exactly once;
``runtime`` wires them into an API or worker process. This package reaches the
database and Redis only through ``codeforge.app``.
"""
