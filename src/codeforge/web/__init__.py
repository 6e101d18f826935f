"""The web page: server-rendered HTML over the same use cases, sessions and roles as the API."""
