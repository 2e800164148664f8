import { describe, expect, it } from "vitest";

import { sourceOf, untilParts } from "./Stage";

const vod = {
  asset_id: "a1",
  title: "Recording",
  duration_seconds: 60,
  master_playlist: "/api/w/w1/vod/a1/master.m3u8",
  poster_url: null,
  download_url: null,
  captions: [],
  urls_expire_at: "2027-01-01T00:00:00Z",
};

describe("sourceOf", () => {
  it("prefers the live stream while it is on air, else the recording", () => {
    const live = { state: "live" as const, session_id: "s1", recorded: true, master_playlist: "/live.m3u8", retry_after_seconds: null };
    expect(sourceOf(live, vod)).toEqual({ mode: "live", masterPlaylist: "/live.m3u8", recorded: true });
    expect(sourceOf({ ...live, state: "stopped" }, vod)).toMatchObject({ mode: "vod", assetId: "a1" });
    expect(sourceOf({ ...live, master_playlist: null }, null)).toBeNull();
    expect(sourceOf(null, null)).toBeNull();
  });
});

describe("untilParts", () => {
  it("counts down in days, hours, minutes and seconds, never below zero", () => {
    expect(untilParts(90_061_000, 0)).toEqual({ days: 1, hours: 1, minutes: 1, seconds: 1 });
    expect(untilParts(0, 5000)).toEqual({ days: 0, hours: 0, minutes: 0, seconds: 0 });
  });
});
