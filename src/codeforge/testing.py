"""pytest plugin for blueprint authors (registered as the ``pytest11`` entry point ``codeforge``)."""
