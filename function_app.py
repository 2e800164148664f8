"""Azure Functions entry point: the FastAPI app over HTTP plus the trigger blueprints."""

import azure.functions as func

from functions.api.app import create_app
from functions.triggers import BLUEPRINTS

app = func.AsgiFunctionApp(app=create_app(), http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
