import { describe, expect, it } from "vitest";

import { pageStateOf, sourceOf, untilParts } from "./Stage";

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

describe("pageStateOf", () => {
  const schedule = { starts_at: "2027-01-15T09:00:00Z", ends_at: "2027-01-15T10:00:00Z", time_zone: "Europe/Berlin" };
  const before = Date.parse("2027-01-15T08:00:00Z");
  const during = Date.parse("2027-01-15T09:30:00Z");
  const after = Date.parse("2027-01-15T11:00:00Z");

  it("follows what plays first, then the schedule", () => {
    expect(pageStateOf(schedule, { mode: "live", masterPlaylist: "/m", recorded: false }, before)).toBe("live");
    expect(pageStateOf(schedule, { mode: "vod", masterPlaylist: "/m", assetId: "a", title: "t" }, after)).toBe("on_demand");
    expect(pageStateOf(schedule, null, before)).toBe("waiting");
    expect(pageStateOf(schedule, null, during)).toBe("live");
    expect(pageStateOf(schedule, null, after)).toBe("ended");
    expect(pageStateOf(null, null, after)).toBe("live");
  });
});
