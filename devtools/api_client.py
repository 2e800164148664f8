"""The web's API types, generated from the app's OpenAPI document by openapi-typescript.

`web/src/api/schema.d.ts` is committed: the web workspace type-checks against it, and
`make test` fails when it differs from what the current API renders
(`tests/unit/test_api_client.py`).

    python -m devtools.api_client           # print the types
    python -m devtools.api_client --write   # rewrite web/src/api/schema.d.ts
"""

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from functions.api.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "web" / "src" / "api" / "schema.d.ts"
GENERATOR = ROOT / "node_modules" / ".bin" / "openapi-typescript"


def openapi_document() -> dict[str, object]:
    document: dict[str, object] = create_app().openapi()
    return document


def render() -> str:
    """The TypeScript types of the current API."""
    with tempfile.TemporaryDirectory(prefix="api-client-") as folder:
        source, target = Path(folder) / "openapi.json", Path(folder) / "schema.d.ts"
        source.write_text(json.dumps(openapi_document(), indent=1), encoding="utf-8")
        subprocess.run(
            [str(GENERATOR), str(source), "--output", str(target)],
            check=True,
            capture_output=True,
            text=True,
        )
        return target.read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {SCHEMA.name}")
    arguments = parser.parse_args(argv)
    text = render()
    if arguments.write:
        SCHEMA.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA.relative_to(ROOT)}")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
