"""The API's log stream: structlog events and CodeForge's stdlib warnings, one JSON line
each, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import threading

from codeforge.api.logs import configure_logging, get_logger


def test_stdlib_warnings_are_json_lines_like_the_events_and_masked() -> None:
    stream = io.StringIO()
    configure_logging(stream)
    logging.getLogger("codeforge.jobs").warning("job sweeper: %s", "OperationalError")
    logging.getLogger("codeforge.jobs").info("below the handler's level")
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        logging.getLogger("codeforge.x").exception("key %s", "cf_abcdefghijklmnopqrstuvwxyz")
    get_logger().info("request", path="/x")

    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == [
        "job sweeper: OperationalError",
        "key ***",
        "request",
    ]
    sweeper, failed, _request = events
    assert sweeper["logger"] == "codeforge.jobs" and sweeper["level"] == "warning"
    assert sweeper["timestamp"].endswith("Z")
    assert "ZeroDivisionError" in failed["exception"]


def test_lines_from_many_threads_never_mix() -> None:
    stream = io.StringIO()
    configure_logging(stream)

    def chatter(n: int) -> None:
        for i in range(200):
            if n % 2:
                logging.getLogger("codeforge.jobs").warning("warning %d-%d", n, i)
            else:
                get_logger().info("event", n=n, i=i)

    threads = [threading.Thread(target=chatter, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1200
    for line in lines:
        json.loads(line)  # each line is one whole JSON object
