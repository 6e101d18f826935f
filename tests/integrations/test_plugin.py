"""The built-in integrations register through the plugin hooks, and a plugin can add its own."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import SimpleNamespace

import pytest

from codeforge.core.credentials import Account, check_credential
from codeforge.errors import CredentialError, PluginError
from codeforge.integrations.credentials import LocalStoreFactory
from codeforge.plugins import hookimpl
from codeforge.plugins.manager import build_plugins
from codeforge.settings import load_settings


@dataclasses.dataclass(frozen=True)
class EchoForge:
    """A forge from a plugin: "who am I" answers with the token's own scopes."""

    name: str = "echo"
    default_host: str = "echo.example.com"
    token_env: str = "ECHO_TOKEN"

    def whoami(self, host: str, token: str) -> Account:
        return Account(self.name, host, "echo-user", None, tuple(token.split("+")), ("write",))


def _plugin(forges: Sequence[object]) -> SimpleNamespace:
    @hookimpl
    def codeforge_forges() -> Sequence[object]:
        return forges

    return SimpleNamespace(codeforge_forges=codeforge_forges)


def test_builtins_are_default_plugins() -> None:
    plugins = build_plugins({})
    assert set(plugins.forges()) == {"github", "gitlab"}
    assert set(plugins.credential_stores()) == {"local"}
    [info] = [i for i in plugins.info() if i.name == "codeforge.integrations.plugin"]
    assert info.builtin
    assert set(info.hooks) == {
        "codeforge_forges",
        "codeforge_credential_stores",
        "codeforge_workflow_actions",
    }


def test_a_plugin_forge_is_used_by_the_credential_use_cases(
    isolated_dirs: dict[str, object],
) -> None:
    forges = build_plugins({}, extra=[("echo", _plugin([EchoForge()]))]).forges()
    store = LocalStoreFactory().open(load_settings(), {})
    store.put("echo", "echo.example.com", "default", "read+write")
    account, resolved = check_credential(store, forges["echo"], None, None, {})
    assert (account.login, resolved.origin) == ("echo-user", "stored:default")
    store.put("echo", "echo.example.com", "default", "read")
    with pytest.raises(CredentialError, match="lacks the scope write"):
        check_credential(store, forges["echo"], None, None, {})


def test_two_plugins_giving_one_forge_name_is_an_error() -> None:
    plugins = build_plugins({}, extra=[("imposter", _plugin([EchoForge(name="github")]))])
    with pytest.raises(PluginError, match="both give forge 'github'"):
        plugins.forges()
