"""The Functions entry point pauses the garbage collector only for its own import (0046)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_function_app_leaves_the_collector_on_with_its_import_frozen() -> None:
    code = "import gc, function_app; print(gc.isenabled(), gc.get_freeze_count())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=os.environ | {"WEBCAST_ENVIRONMENT": "test"},
        capture_output=True,
        text=True,
        check=True,
    )
    enabled, frozen = done.stdout.split()
    assert enabled == "True"
    # The modules, models and routes of the import are out of the collector's view.
    assert int(frozen) > 50_000
