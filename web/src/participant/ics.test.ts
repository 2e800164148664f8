import { describe, expect, it } from "vitest";

import { calendarFile } from "./ics";

const event = {
  uid: "w1@webcast",
  title: "Keynote; part 1, with \\ slash",
  description: "Line one\nLine two\u0007",
  url: "https://example.org/w/w1",
  startsAt: "2027-01-15T09:00:00+01:00",
  endsAt: "2027-01-15T10:30:00+01:00",
};

describe("calendarFile", () => {
  const file = calendarFile(event, new Date("2027-01-01T00:00:00Z"));

  it("is an RFC 5545 calendar with the times in UTC", () => {
    expect(file.startsWith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")).toBe(true);
    expect(file).toContain("DTSTART:20270115T080000Z\r\n");
    expect(file).toContain("DTEND:20270115T093000Z\r\n");
    expect(file).toContain("DTSTAMP:20270101T000000Z\r\n");
    expect(file.endsWith("END:VCALENDAR\r\n")).toBe(true);
  });

  it("escapes text and drops control characters, so no line can be injected", () => {
    expect(file).toContain("SUMMARY:Keynote\\; part 1\\, with \\\\ slash\r\n");
    expect(file).toContain("DESCRIPTION:Line one\\nLine two\r\n");
  });

  it("folds long lines at 75 octets", () => {
    const long = calendarFile({ ...event, title: "Ä".repeat(100) });
    for (const line of long.split("\r\n")) {
      expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(75);
    }
  });
});
