"""The application layer: CodeForge's use cases, between the adapters and the core.

Each module is one use case (``generate``, ``preview``, ``register``, ``record``,
...), a plain function taking its collaborators as arguments. The CLI, the web API
and the job worker only parse their input, call one use case and present the
result. ``context.build_context`` is the one composition root: it builds the
collaborators (database, metrics, blueprint resolver, environment pool) that every
adapter and the tests use.
"""
