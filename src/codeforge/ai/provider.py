"""One client for every model: the OpenAI-compatible chat API.

:func:`open_provider` picks the endpoint: a configured ``ai.base_url`` (checked
against ``ai.allow_remote``), else the local llama.cpp server when the
``ai-local`` extra is installed, else :class:`AIUnavailableError`. Every message
is redacted before it leaves the process; structured answers are constrained by
a JSON Schema on the server side and validated again here.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast
from urllib.parse import urlparse

from codeforge.ai.errors import (
    AIAnswerError,
    AIProviderError,
    AITimeoutError,
    AIUnavailableError,
)
from codeforge.ai.redact import redact
from codeforge.ai.settings import AISettings, cache_dir, load_ai_settings
from codeforge.errors import SecurityError

if TYPE_CHECKING:
    from openai import OpenAI

    from codeforge.ai.local import LocalServer

Message = Mapping[str, str]


@dataclass(frozen=True)
class ChatResult:
    """A model's answer with what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at this machine."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Provider:
    """A chat client bound to one endpoint and model."""

    base_url: str
    model: str
    api_key: str = "unused"
    timeout: float = 120.0
    max_retries: int = 2
    temperature: float = 0.0
    secrets: tuple[str, ...] = ()
    server: LocalServer | None = None
    _client: OpenAI | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> OpenAI:
        if self._client is None:
            try:
                from openai import OpenAI
            except ImportError:
                raise AIUnavailableError("AI is off: the 'openai' package is missing") from None
            self._client = OpenAI(
                base_url=self.base_url,
                api_key=self.api_key,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._client

    def with_secrets(self, values: Iterable[str]) -> Self:
        """Also redact these exact values (secret answers) from everything sent."""
        self.secrets = tuple({*self.secrets, *(v for v in values if v)})
        return self

    def _prepare(self, messages: Sequence[Message]) -> list[dict[str, str]]:
        return [
            {"role": m["role"], "content": redact(m["content"], self.secrets)} for m in messages
        ]

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float | None = None,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "answer",
        on_token: Callable[[str], None] | None = None,
        timeout: float | None = None,
    ) -> ChatResult:
        """Send a chat request; stream tokens to ``on_token`` when given.

        ``timeout`` bounds this call alone, without retries (a review's per-file bound).
        """
        from openai import APIConnectionError, APIError, APITimeoutError

        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": self._prepare(messages),
            "max_tokens": max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
        }
        if json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": dict(json_schema), "strict": True},
            }
        started = time.monotonic()
        client = self.client
        if timeout is not None:
            client = client.with_options(timeout=timeout, max_retries=0)
        try:
            if on_token is None:
                response = client.chat.completions.create(**kwargs)
                text = response.choices[0].message.content or ""
                usage = response.usage
                return ChatResult(
                    text,
                    usage.prompt_tokens if usage else 0,
                    usage.completion_tokens if usage else 0,
                    time.monotonic() - started,
                )
            return self._stream(client, kwargs, on_token, started)
        except APITimeoutError as exc:
            raise AITimeoutError(
                f"the model did not answer within {timeout or self.timeout:g} s",
                hint="raise ai.timeout or use a smaller model",
                where=self.base_url,
            ) from exc
        except APIConnectionError as exc:
            raise AIProviderError(
                f"cannot reach the model endpoint: {exc}", where=self.base_url
            ) from exc
        except APIError as exc:
            raise AIProviderError(f"the model endpoint failed: {exc}", where=self.base_url) from exc

    def _stream(
        self,
        client: OpenAI,
        kwargs: dict[str, Any],
        on_token: Callable[[str], None],
        started: float,
    ) -> ChatResult:
        """The streamed form of :meth:`complete`: each token to ``on_token`` as it comes."""
        pieces: list[str] = []
        stream = client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        prompt_tokens = completion_tokens = 0
        for chunk in stream:
            if chunk.usage is not None:
                prompt_tokens = chunk.usage.prompt_tokens
                completion_tokens = chunk.usage.completion_tokens
            if chunk.choices and chunk.choices[0].delta.content:
                piece = chunk.choices[0].delta.content
                pieces.append(piece)
                on_token(piece)
        return ChatResult(
            "".join(pieces), prompt_tokens, completion_tokens, time.monotonic() - started
        )

    def complete_json(
        self,
        messages: Sequence[Message],
        schema: Mapping[str, Any],
        *,
        max_tokens: int = 512,
        schema_name: str = "answer",
        timeout: float | None = None,
    ) -> tuple[dict[str, Any], ChatResult]:
        """A JSON object constrained by ``schema`` on the server and validated here."""
        jsonschema = importlib.import_module("jsonschema")
        result = self.complete(
            messages,
            max_tokens=max_tokens,
            json_schema=schema,
            schema_name=schema_name,
            timeout=timeout,
        )
        try:
            data = json.loads(result.text)
            jsonschema.validate(data, dict(schema))
        except (ValueError, jsonschema.ValidationError) as exc:
            raise AIAnswerError(
                f"the model's answer does not match the {schema_name} schema: {exc}",
                hint="raise max_tokens or use a larger model",
            ) from exc
        if not isinstance(data, dict):
            raise AIAnswerError(f"the model's {schema_name} answer is not an object")
        return cast(dict[str, Any], data), result

    def close(self) -> None:
        """Close the client and stop the local server this provider owns."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_provider(
    settings: AISettings | None = None, *, local_model: str | None = None
) -> Provider:
    """The provider the settings call for; starts the local server when that is the one."""
    settings = settings or load_ai_settings()
    common: dict[str, Any] = {
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "temperature": settings.temperature,
    }
    if settings.base_url:
        if not settings.allow_remote and not is_loopback_url(settings.base_url):
            host = urlparse(settings.base_url).hostname
            raise SecurityError(
                f"ai.allow_remote is false but ai.base_url points at {host}",
                hint="use a loopback endpoint, the local model, or set ai.allow_remote = true",
            )
        key = settings.api_key.get_secret_value() if settings.api_key else "unused"
        return Provider(
            base_url=settings.base_url, model=settings.model or "default", api_key=key, **common
        )
    from codeforge.ai.local import LocalServer, xllamacpp_available

    if not xllamacpp_available():
        raise AIUnavailableError()
    try:
        import openai  # noqa: F401
    except ImportError:
        raise AIUnavailableError() from None
    server = LocalServer.start(local_model or settings.local_model, cache_dir())
    return Provider(
        base_url=server.base_url,
        model=server.model,
        api_key=server.api_key,
        server=server,
        **common,
    )
