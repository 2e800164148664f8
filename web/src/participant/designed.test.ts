import { describe, expect, it } from "vitest";

import { localised, visibleBlocks } from "./Designed";

const block = (kind: string, states: string[]) =>
  ({ id: kind, kind, states, texts: {}, agenda: [], speakers: [], imprint_url: null, privacy_url: null }) as unknown as Parameters<typeof visibleBlocks>[0][number];

describe("visibleBlocks", () => {
  const blocks = [
    block("intro", ["waiting", "live", "on_demand", "ended"]),
    block("entry", ["waiting", "live", "on_demand", "ended"]),
    block("player", ["live", "on_demand"]),
    block("countdown", ["waiting"]),
  ];

  it("shows the blocks of the state, the form outside and the grant's blocks inside", () => {
    expect(visibleBlocks(blocks, "waiting", false).map((b) => b.kind)).toEqual(["intro", "entry", "countdown"]);
    expect(visibleBlocks(blocks, "live", false).map((b) => b.kind)).toEqual(["intro", "entry"]);
    expect(visibleBlocks(blocks, "live", true).map((b) => b.kind)).toEqual(["intro", "player"]);
  });
});

describe("localised", () => {
  it("takes the page's language, else the webcast's, else any", () => {
    expect(localised({ de: "Hallo", en: "Hello" }, "en", "de")).toBe("Hello");
    expect(localised({ de: "Hallo" }, "en", "de")).toBe("Hallo");
    expect(localised({ fr: "Salut" }, "en", "de")).toBe("Salut");
    expect(localised({}, "en", "de")).toBeUndefined();
  });
});
