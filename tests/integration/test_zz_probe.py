import time
from tests.integration.test_isolation import _snapshot, _marks, helpers, victim, intruder  # noqa

def test_probe(victim, intruder):
    owner, ids = victim
    t=time.perf_counter(); snap=_snapshot(_marks(owner, ids)); print("snapshot", time.perf_counter()-t, len(snap))
    owner = helpers.sign_in(owner.email, owner.password, owner.secret)
    for path in ["/api/webcasts", "/api/webcasts/{webcast_id}/participants", "/api/webcasts/{webcast_id}/imports", "/api/webcasts/{webcast_id}/messages", "/api/audit"]:
        r = owner.get(path.format(**ids), params={"limit": 1})
        print(path, r.status_code, r.json().get("continuation") if r.status_code == 200 else r.text)
    r = intruder.owner.post(f"/api/webcasts/{intruder.ids['webcast_id']}/server-credentials/revoke", json={"id": ids["credential_id"]})
    print(r.text)
