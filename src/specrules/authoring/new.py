"""`specrules new`: a starting spec with every section present and commented.

The file validates as it stands and its worked example passes `specrules test`, so an
author can change it one piece at a time and re-run `validate` after each change.
"""

from __future__ import annotations

import json
from importlib import resources

DEFAULT_TITLE = "New service specification"


def new_spec(title: str | None = None, schema: str = "spec.schema.json") -> str:
    """The text of a new spec titled `title`, pointing editors at the JSON Schema `schema`."""
    template = (
        resources.files("specrules.authoring")
        .joinpath("templates/new_spec.yaml")
        .read_text(encoding="utf-8")
    )
    # A JSON string is a valid YAML double-quoted scalar: any title is safe.
    quoted = json.dumps(" ".join((title or DEFAULT_TITLE).split()), ensure_ascii=False)
    location = " ".join(schema.split()) or "spec.schema.json"
    return template.replace("{{ title }}", quoted).replace("{{ schema }}", location)
