"""Blueprint system: definition loading, schema, sandboxed Jinja environment, filters."""
