import { describe, expect, it } from "vitest";

import { linkSecrets, routeOf, withoutSecrets } from "./routes";

describe("routeOf", () => {
  it("names the webcast page, its sub-pages and the embed page", () => {
    expect(routeOf("/")).toEqual({ page: "landing" });
    expect(routeOf("/w/abc123")).toEqual({ page: "webcast", webcastId: "abc123", embedded: false });
    expect(routeOf("/w/abc123/")).toEqual({ page: "webcast", webcastId: "abc123", embedded: false });
    expect(routeOf("/embed/abc123")).toEqual({ page: "webcast", webcastId: "abc123", embedded: true });
    expect(routeOf("/w/abc123/password-reset")).toEqual({ page: "password-reset", webcastId: "abc123" });
    expect(routeOf("/w/abc123/privacy")).toEqual({ page: "privacy", webcastId: "abc123" });
    expect(routeOf("/p/acme/keynote-2027")).toEqual({ page: "address", tenantSlug: "acme", webcastSlug: "keynote-2027" });
  });

  it("refuses what it does not know, and ids that are no ids", () => {
    for (const path of ["/x/abc", "/w/abc/other", "/w/abc/privacy/more", "/embed/abc/privacy", "/w/a%20b", `/w/${"a".repeat(65)}`, "/p/acme", "/p/Acme/x", "/p/acme/x/y", "/p/-a/x"]) {
      expect(routeOf(path)).toEqual({ page: "not-found" });
    }
  });
});

describe("linkSecrets", () => {
  it("reads the token and key after # and, from links mailed earlier, the query", () => {
    expect(linkSecrets("", "#token=abc&key=k1")).toEqual({ token: "abc", key: "k1", erase: null });
    expect(linkSecrets("?token=old", "")).toEqual({ token: "old", key: null, erase: null });
    expect(linkSecrets("?token=old", "#token=new")).toEqual({ token: "new", key: null, erase: null });
    expect(linkSecrets("", "")).toEqual({ token: null, key: null, erase: null });
    expect(linkSecrets("", "#erase=e1")).toEqual({ token: null, key: null, erase: "e1" });
  });

  it("drops values longer than the API takes", () => {
    expect(linkSecrets("", `#token=${"t".repeat(257)}&key=${"k".repeat(65)}&erase=${"e".repeat(257)}`)).toEqual({
      token: null,
      key: null,
      erase: null,
    });
  });

  it("leaves an address without its secrets", () => {
    expect(withoutSecrets("https://x.example/w/abc?token=t&lang=de#token=t")).toBe("/w/abc?lang=de");
  });
});
