"""The CodeForge library core: no CLI, web, Redis or database imports here."""
