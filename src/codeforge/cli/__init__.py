"""Click adapter: parse, call the core, print with Rich."""
