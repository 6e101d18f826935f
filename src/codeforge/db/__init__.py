"""The data layer: SQLAlchemy 2 models, engine, repositories, Alembic migrations.

Import the submodules you need (``codeforge.db.store``, ``codeforge.db.repositories``);
this package module stays empty so that importing it costs nothing.
"""
