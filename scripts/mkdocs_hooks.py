"""MkDocs hooks: the API reference page is rendered from the app's own OpenAPI document.

``mkdocs build`` imports this file (``hooks:`` in mkdocs.yml). It builds the FastAPI
app on a throw-away SQLite database, takes ``app.openapi()``, renders it as Markdown
with essentials-openapi (the library behind neoteroi-mkdocs' OAD plugin) in place of
the ``<!-- openapi -->`` marker of docs/api-reference.md, and writes the JSON beside
the page as ``openapi.json`` (a generated file) so the site serves the document too.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

MARKER = "<!-- openapi -->"
PAGE = "api-reference.md"
_document: dict[str, Any] = {}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of ``codeforge.api.app.create_app``, built once per run."""
    if not _document:
        from codeforge.api.app import create_app
        from codeforge.settings import load_settings

        with tempfile.TemporaryDirectory(prefix="codeforge-docs-") as tmp:
            env = {
                f"CODEFORGE_{kind}_DIR": f"{tmp}/{kind.lower()}"
                for kind in ("DATA", "CONFIG", "CACHE")
            }
            app = create_app(load_settings(env))
            _document.update(app.openapi())
    return _document


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(
            f"docs/{PAGE} lost its {MARKER} marker: the API reference has nowhere to go"
        )
    from openapidocs.mk.v3 import OpenAPIV3DocumentationHandler

    rendered = OpenAPIV3DocumentationHandler(openapi_document()).write()
    return markdown.replace(MARKER, rendered)


def on_files(files: Any, config: Any, **_: Any) -> Any:
    from mkdocs.structure.files import File

    content = json.dumps(openapi_document(), indent=2) + "\n"
    files.append(File.generated(config, "openapi.json", content=content))
    return files
