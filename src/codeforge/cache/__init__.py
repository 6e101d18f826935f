"""Cache, rate limits, sessions and the job queue: Redis when configured, in-process otherwise."""
