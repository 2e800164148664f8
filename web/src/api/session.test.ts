import { describe, expect, it } from "vitest";

import { CSRF_HEADER, createApi } from "./client";
import { restoreViewerSession } from "./session";
import { answering } from "./testing";

describe("restoreViewerSession", () => {
  it("keeps the token it reads for the next write", async () => {
    const state = {
      webcast_id: "w1",
      granted: true,
      participant_id: "p1",
      embedded: false,
      csrf_token: "token-2",
    };
    const { fetch, requests } = answering(200, state);
    const api = createApi({ baseUrl: "http://page.test", fetch });
    expect(await restoreViewerSession(api, "w1")).toEqual(state);
    await api.client.POST("/api/w/{webcast_id}/enter", { params: { path: { webcast_id: "w1" } } });
    expect(requests[1]?.headers.get(CSRF_HEADER)).toBe("token-2");
  });

  it("fails on an error answer instead of guessing a state", async () => {
    const { fetch } = answering(404, { title: "Not found" });
    const api = createApi({ baseUrl: "http://page.test", fetch });
    await expect(restoreViewerSession(api, "gone")).rejects.toThrow("answered 404");
  });
});
