import { describe, expect, it } from "vitest";

import { CSRF_HEADER, createApi } from "./client";
import { answering } from "./testing";

describe("createApi", () => {
  it("sends the CSRF token with state-changing requests only, once it has one", async () => {
    const { fetch, requests } = answering(200, {});
    const api = createApi({ baseUrl: "http://page.test", fetch });
    await api.client.POST("/api/w/{webcast_id}/enter", {
      params: { path: { webcast_id: "w1" } },
    });
    api.setCsrfToken("token-1");
    await api.client.GET("/api/w/{webcast_id}/live", { params: { path: { webcast_id: "w1" } } });
    await api.client.POST("/api/w/{webcast_id}/enter", {
      params: { path: { webcast_id: "w1" } },
    });
    expect(requests.map((r) => [r.method, r.headers.get(CSRF_HEADER)])).toEqual([
      ["POST", null],
      ["GET", null],
      ["POST", "token-1"],
    ]);
    expect(requests[1]?.url).toBe("http://page.test/api/w/w1/live");
  });

  it("sends cookies to its own origin only", async () => {
    const { fetch, requests } = answering(200, {});
    await createApi({ baseUrl: "http://page.test", fetch }).client.GET("/api/health");
    expect(requests[0]?.credentials).toBe("same-origin");
  });

  it("encodes a hostile path parameter instead of following it", async () => {
    const { fetch, requests } = answering(200, {});
    const api = createApi({ baseUrl: "http://page.test", fetch });
    await api.client.GET("/api/w/{webcast_id}/live", {
      params: { path: { webcast_id: "../../admin?x=1#" } },
    });
    expect(requests[0]?.url).toBe("http://page.test/api/w/..%2F..%2Fadmin%3Fx%3D1%23/live");
  });
});
