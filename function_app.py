"""Azure Functions entry point: the FastAPI app over HTTP plus the trigger blueprints."""

import gc

# A cold start builds about 120,000 objects that live as long as the process (modules, models,
# routes); collecting while they are built cost a fifth of the import and found about a
# thousand objects of garbage. Frozen at the end, they stay out of every later full
# collection (decision 0046).
gc.disable()

import azure.functions as func

import functions.triggers.handouts  # noqa: F401 - registers the downloads BlobCreated consumer
from functions.api.app import create_app
from functions.triggers import (
    blob_events,
    mail,
    maintenance,
    malware,
    media,
    messages,
    participant_imports,
    polls,
    tracking,
)

app = func.AsgiFunctionApp(app=create_app(), http_auth_level=func.AuthLevel.ANONYMOUS)
for trigger_module in (
    mail,
    maintenance,
    blob_events,
    participant_imports,
    messages,
    polls,
    tracking,
    media,
    malware,
):
    app.register_functions(trigger_module.blueprint)

gc.freeze()
gc.enable()
