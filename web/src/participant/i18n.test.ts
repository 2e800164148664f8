import { describe, expect, it } from "vitest";

import { format, formatMoment, MESSAGES, pageLocales, pickLocale, zoneLabel } from "./i18n";

describe("languages", () => {
  it("keeps the webcast's languages the pages can show, its default first", () => {
    expect(pageLocales(["de", "en"])).toEqual(["de", "en"]);
    expect(pageLocales(["en-GB", "fr", "de"])).toEqual(["en", "de"]);
    expect(pageLocales(["fr"])).toEqual(["en"]);
  });

  it("picks the browser's most preferred of them, else the default", () => {
    expect(pickLocale(["de", "en"], ["en-US", "de"])).toBe("en");
    expect(pickLocale(["de", "en"], ["fr-FR", "de-AT"])).toBe("de");
    expect(pickLocale(["de"], ["en-US"])).toBe("de");
  });

  it("has every text in both languages", () => {
    expect(Object.keys(MESSAGES.de).sort()).toEqual(Object.keys(MESSAGES.en).sort());
    for (const text of Object.values(MESSAGES.de)) {
      expect(text.trim()).not.toBe("");
    }
  });

  it("fills placeholders and leaves unknown ones", () => {
    expect(format("{count} votes, {other}", { count: 3 })).toBe("3 votes, {other}");
  });
});

describe("times", () => {
  it("shows a moment in the webcast's time zone with the zone named", () => {
    const start = "2027-01-15T09:00:00Z";
    expect(formatMoment(start, "de", "Europe/Berlin")).toContain("10:00");
    expect(formatMoment(start, "en", "America/New_York")).toContain("4:00");
    expect(zoneLabel(start, "de", "Europe/Berlin")).toMatch(/^Europe\/Berlin \(.+\)$/);
  });
});
