"""Queue and timer triggers of the messages feature (issue 4).

None are needed: feed rebuilds run with the moderator's request and votes are folded into
their shard tallies by whichever API process refreshes the published feed."""

import azure.functions as func

blueprint = func.Blueprint()
