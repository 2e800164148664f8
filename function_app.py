"""Azure Functions entry point: the FastAPI app over HTTP plus the trigger blueprints."""

import gc

# A cold start builds about 120,000 objects that live as long as the process (modules, models,
# routes); collecting while they are built cost a fifth of the import and found about a
# thousand objects of garbage. Frozen at the end, they stay out of every later full
# collection (decision 0046).
gc.disable()

import azure.functions as func

from functions.api.app import create_app
from functions.triggers import BLUEPRINTS

app = func.AsgiFunctionApp(app=create_app(), http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)

gc.freeze()
gc.enable()
