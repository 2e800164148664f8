/** What a viewer with a grant sees: the schedule (a countdown and a calendar file before the
 * start), the player for live or on demand, and the modules the webcast has switched on. */
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";

import type { components } from "../api/schema";
import { type PublicWebcast, usePage } from "./context";
import { calendarFile } from "./ics";
import { formatMoment, formatSize, zoneLabel } from "./i18n";
import type { Source } from "./Player";
import { fetchedOf, useRefreshing, type Fetcher } from "./refresh";

const Player = lazy(() => import("./Player"));

type ViewerHandout = components["schemas"]["ViewerHandout"];
type LiveSummary = components["schemas"]["LiveSummary"];
type VodSummary = components["schemas"]["VodSummary"];

/** Days, hours, minutes and seconds until a moment (zero once it has passed). */
export function untilParts(target: number, now: number): { days: number; hours: number; minutes: number; seconds: number } {
  const total = Math.max(0, Math.floor((target - now) / 1000));
  return {
    days: Math.floor(total / 86400),
    hours: Math.floor((total % 86400) / 3600),
    minutes: Math.floor((total % 3600) / 60),
    seconds: total % 60,
  };
}

/** The clock, ticking every `milliseconds`. */
function useNow(milliseconds: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      setNow(Date.now());
    }, milliseconds);
    return () => {
      clearInterval(timer);
    };
  }, [milliseconds]);
  return now;
}

function Countdown({ startsAt }: { readonly startsAt: string }) {
  const { texts } = usePage();
  const now = useNow(1000);
  const parts = untilParts(Date.parse(startsAt), now);
  const two = (value: number): string => String(value).padStart(2, "0");
  return (
    // Read out on request only: a timer announced every second would drown everything else.
    <p className="countdown" role="timer" aria-live="off">
      {texts.t("countdown")}{" "}
      <span className="digits">
        {parts.days > 0 ? `${String(parts.days)} ${texts.t("days")} ` : ""}
        {two(parts.hours)}:{two(parts.minutes)}:{two(parts.seconds)}
      </span>
    </p>
  );
}

function ScheduleInfo({ webcast, before }: { readonly webcast: PublicWebcast; readonly before: boolean }) {
  const { texts } = usePage();
  const schedule = webcast.schedule;
  const calendar = useMemo(() => {
    if (!schedule) {
      return null;
    }
    const file = calendarFile({
      uid: `${webcast.id}@webcast`,
      title: webcast.title,
      description: webcast.description,
      url: `${location.origin}/w/${encodeURIComponent(webcast.id)}`,
      startsAt: schedule.starts_at,
      endsAt: schedule.ends_at,
    });
    return URL.createObjectURL(new Blob([file], { type: "text/calendar" }));
  }, [schedule, webcast.id, webcast.title, webcast.description]);
  useEffect(
    () => () => {
      if (calendar) {
        URL.revokeObjectURL(calendar);
      }
    },
    [calendar],
  );
  if (!schedule) {
    return null;
  }
  const zone = schedule.time_zone;
  return (
    <section className="schedule" aria-label={texts.t("startsAt")}>
      <dl>
        <dt>{texts.t("startsAt")}</dt>
        <dd>
          <time dateTime={schedule.starts_at}>{formatMoment(schedule.starts_at, texts.locale, zone)}</time>
        </dd>
        <dt>{texts.t("endsAt")}</dt>
        <dd>
          <time dateTime={schedule.ends_at}>{formatMoment(schedule.ends_at, texts.locale, zone)}</time>
        </dd>
      </dl>
      <p className="help">{texts.t("timeZone", { zone: zoneLabel(schedule.starts_at, texts.locale, zone) })}</p>
      {before ? (
        <>
          <Countdown startsAt={schedule.starts_at} />
          <p>{texts.t("waitingRoom")}</p>
          {calendar ? (
            <a className="button" href={calendar} download={`${webcast.id}.ics`}>
              {texts.t("addToCalendar")}
            </a>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function Downloads({ webcast }: { readonly webcast: PublicWebcast }) {
  const { api, texts } = usePage();
  const fetcher = useCallback<Fetcher<ViewerHandout[]>>(
    async (_etag, signal) => {
      const { data, response } = await api.client.GET("/api/w/{webcast_id}/handouts", {
        params: { path: { webcast_id: webcast.id } },
        signal,
        cache: "no-store",
      });
      return fetchedOf(response, data);
    },
    [api, webcast.id],
  );
  const handouts = useRefreshing(fetcher, webcast.refresh_seconds * 6);
  if (!handouts.data || handouts.data.length === 0) {
    return null;
  }
  return (
    <section className="downloads" aria-labelledby="downloads-title">
      <h2 id="downloads-title">{texts.t("downloads")}</h2>
      <ul>
        {handouts.data.map((handout) => (
          <li key={handout.id}>
            <a href={`/api/w/${encodeURIComponent(webcast.id)}/handouts/${encodeURIComponent(handout.id)}`}>
              {handout.title}
            </a>{" "}
            <span className="help">
              ({handout.filename}, {formatSize(handout.size, texts.locale)})
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Live while a session is on air, else the published recording, else nothing yet. */
export function sourceOf(live: LiveSummary | null, vod: VodSummary | null): Source | null {
  if (live?.master_playlist && (live.state === "live" || live.state === "starting")) {
    return { mode: "live", masterPlaylist: live.master_playlist, recorded: live.recorded };
  }
  if (vod) {
    return { mode: "vod", masterPlaylist: vod.master_playlist, assetId: vod.asset_id, title: vod.title };
  }
  return null;
}

export type PageState = components["schemas"]["PageState"];

/** The live stream or recording a granted viewer can watch, asked for at the API's interval. */
export function useSource(webcast: PublicWebcast): Source | null {
  const { api } = usePage();
  const liveFetcher = useCallback<Fetcher<LiveSummary>>(
    async (_etag, signal) => {
      const { data, response } = await api.client.GET("/api/w/{webcast_id}/live", {
        params: { path: { webcast_id: webcast.id } },
        signal,
        cache: "no-store",
      });
      return fetchedOf(response, data);
    },
    [api, webcast.id],
  );
  const vodFetcher = useCallback<Fetcher<VodSummary>>(
    async (etag, signal) => {
      const { data, response } = await api.client.GET("/api/w/{webcast_id}/vod", {
        params: { path: { webcast_id: webcast.id }, header: etag ? { "if-none-match": etag } : {} },
        signal,
        cache: "no-store",
      });
      return fetchedOf(response, data);
    },
    [api, webcast.id],
  );
  const vod = useRefreshing(vodFetcher, webcast.refresh_seconds * 6);
  // While the recording plays, a start of the live stream may show a little later.
  const live = useRefreshing(liveFetcher, webcast.refresh_seconds * (vod.data ? 3 : 1));
  const found = sourceOf(live.data, vod.data);
  // The source object changes identity on every poll; the player restarts only when its
  // playlist does.
  const key = found ? `${found.mode}:${found.masterPlaylist.split("?")[0] ?? ""}` : "none";
  return useMemo(() => found, [key]); // eslint-disable-line react-hooks/exhaustive-deps
}

/** Where the webcast stands: live or on demand by what plays, else by its schedule (one
 * without a schedule is open whenever it is: live). */
export function pageStateOf(schedule: PublicWebcast["schedule"], source: Source | null, now: number): PageState {
  if (source?.mode === "live") {
    return "live";
  }
  if (source?.mode === "vod") {
    return "on_demand";
  }
  if (schedule === null) {
    return "live";
  }
  if (Date.parse(schedule.starts_at) > now) {
    return "waiting";
  }
  return Date.parse(schedule.ends_at) < now ? "ended" : "live";
}

/** The player, or what the page says while there is nothing to play. */
export function PlayerSlot(props: { readonly webcast: PublicWebcast; readonly source: Source | null; readonly state: PageState; readonly recordingNotice: boolean }) {
  const { texts } = usePage();
  const { webcast, source, state } = props;
  if (source === null) {
    const text = state === "ended" ? texts.t("ended") : state === "waiting" ? texts.t("notLiveYet") : texts.t("noVideo");
    return <p className="notice">{text}</p>;
  }
  return (
    <Suspense fallback={<p>{texts.t("loading")}</p>}>
      <Player
        key={`${source.mode}:${source.masterPlaylist}`}
        webcastId={webcast.id}
        source={source}
        tracking={webcast.modules.tracking}
        recordingNotice={props.recordingNotice}
      />
    </Suspense>
  );
}

export function RecordingNotice({ source }: { readonly source: Source | null }) {
  const { texts } = usePage();
  if (source?.mode !== "live" || !source.recorded) {
    return null;
  }
  return (
    <p className="notice recording" role="note">
      {texts.t("recordingNotice")}
    </p>
  );
}

export { Downloads, ScheduleInfo, useNow };
