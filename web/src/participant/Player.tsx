/** The video: hls.js through the product's player module, with quality and caption choice,
 * keyboard control and attendance heartbeats while it plays. Loaded only on pages that show
 * it, so hls.js stays out of every other page's bundle. */
import Hls from "hls.js";
import { type RefObject, useEffect, useId, useRef, useState, type KeyboardEvent } from "react";

import { startPlayback } from "../../player/src/player";
import { usePage } from "./context";

export type Source =
  | { readonly mode: "live"; readonly masterPlaylist: string; readonly recorded: boolean }
  | { readonly mode: "vod"; readonly masterPlaylist: string; readonly assetId: string; readonly title: string };

interface PlayerProps {
  readonly webcastId: string;
  readonly source: Source;
  /** Whether attendance heartbeats are sent (the tracking module). */
  readonly tracking: boolean;
  /** Whether the player says that the live stream is recorded (unless the page does). */
  readonly recordingNotice: boolean;
}

interface Choice {
  readonly index: number;
  readonly label: string;
}

const SEEK_SECONDS = 5;

/** A native select over hls.js's levels or subtitle tracks; -1 is automatic or off. */
function TrackChoice(props: {
  readonly label: string;
  readonly none: string;
  readonly choices: readonly Choice[];
  readonly value: number;
  readonly onChange: (index: number) => void;
}) {
  return (
    <label>
      {props.label}{" "}
      <select
        value={props.value}
        onChange={(event) => {
          props.onChange(Number(event.target.value));
        }}
      >
        <option value={-1}>{props.none}</option>
        {props.choices.map((each) => (
          <option key={each.index} value={each.index}>
            {each.label}
          </option>
        ))}
      </select>
    </label>
  );
}
const FIRST_HEARTBEAT_SECONDS = 30;

/** Heartbeats every interval the API names while the video plays and the page is visible. */
function useHeartbeats(videoRef: RefObject<HTMLVideoElement | null>, webcastId: string, source: Source, enabled: boolean): void {
  const { api } = usePage();
  useEffect(() => {
    const video = videoRef.current;
    if (!enabled || video === null) {
      return undefined;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let interval = FIRST_HEARTBEAT_SECONDS;
    const watching = (): boolean => !video.paused && !video.ended && !document.hidden;
    const beat = async (): Promise<void> => {
      clearTimeout(timer);
      if (watching()) {
        const body =
          source.mode === "vod"
            ? { mode: "vod" as const, position: Math.max(0, video.currentTime), asset_id: source.assetId }
            : { mode: "live" as const };
        const { data } = await api.client.POST("/api/w/{webcast_id}/heartbeat", {
          params: { path: { webcast_id: webcastId } },
          body,
        });
        interval = data?.interval_seconds ?? interval;
      }
      schedule();
    };
    const schedule = (): void => {
      clearTimeout(timer);
      if (watching()) {
        timer = setTimeout(() => void beat(), interval * 1000);
      }
    };
    const started = (): void => {
      void beat();
    };
    video.addEventListener("playing", started);
    video.addEventListener("pause", schedule);
    document.addEventListener("visibilitychange", schedule);
    return () => {
      clearTimeout(timer);
      video.removeEventListener("playing", started);
      video.removeEventListener("pause", schedule);
      document.removeEventListener("visibilitychange", schedule);
    };
  }, [api, videoRef, webcastId, source, enabled]);
}

export default function Player({ webcastId, source, tracking, recordingNotice }: PlayerProps) {
  const { texts } = usePage();
  const id = useId().replace(/:/g, "");
  const videoRef = useRef<HTMLVideoElement>(null);
  const hls = useRef<Hls | null>(null);
  const [levels, setLevels] = useState<Choice[]>([]);
  const [level, setLevel] = useState(-1);
  const [subtitles, setSubtitles] = useState<Choice[]>([]);
  const [subtitle, setSubtitle] = useState(-1);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const video = videoRef.current;
    if (video === null) {
      return undefined;
    }
    if (!Hls.isSupported()) {
      // Safari plays HLS itself (its signed URLs are not renewed: decision 0052).
      video.src = source.masterPlaylist;
      return undefined;
    }
    const playback = startPlayback({
      Hls,
      video,
      masterPlaylist: source.masterPlaylist,
      config: source.mode === "live" ? { liveSyncDurationCount: 3 } : {},
    });
    hls.current = playback.hls;
    playback.hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      setLevels(
        data.levels
          .map((each, index) => ({ index, label: each.height ? `${String(each.height)}p` : `${String(Math.round(each.bitrate / 1000))} kbit/s` }))
          .reverse(),
      );
    });
    playback.hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_event, data) => {
      setSubtitles(data.subtitleTracks.map((track, index) => ({ index, label: track.name || track.lang || String(index + 1) })));
    });
    playback.hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) {
        setFailed(true);
      }
    });
    return () => {
      playback.destroy();
      hls.current = null;
    };
  }, [source]);

  useHeartbeats(videoRef, webcastId, source, tracking);

  const chooseLevel = (index: number): void => {
    setLevel(index);
    if (hls.current) {
      hls.current.currentLevel = index;
    }
  };
  const chooseSubtitle = (index: number): void => {
    setSubtitle(index);
    if (hls.current) {
      hls.current.subtitleDisplay = index >= 0;
      hls.current.subtitleTrack = index;
    }
  };

  const onKey = (event: KeyboardEvent<HTMLVideoElement>): void => {
    const video = event.currentTarget;
    const key = event.key.toLowerCase();
    if (key === " " || key === "k") {
      if (video.paused) {
        void video.play();
      } else {
        video.pause();
      }
    } else if (key === "m") {
      video.muted = !video.muted;
    } else if (key === "f") {
      if (document.fullscreenElement) {
        void document.exitFullscreen();
      } else {
        void video.requestFullscreen();
      }
    } else if ((key === "arrowleft" || key === "arrowright") && source.mode === "vod") {
      const step = key === "arrowleft" ? -SEEK_SECONDS : SEEK_SECONDS;
      video.currentTime = Math.max(0, video.currentTime + step);
    } else {
      return;
    }
    event.preventDefault();
  };

  return (
    <section className="player" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>
        {source.mode === "live" ? (
          <>
            <span className="badge live">{texts.t("live")}</span> {texts.t("player")}
          </>
        ) : (
          <>
            {texts.t("onDemand")}: {source.title}
          </>
        )}
      </h2>
      {recordingNotice && source.mode === "live" && source.recorded ? (
        <p className="notice recording" role="note">
          {texts.t("recordingNotice")}
        </p>
      ) : null}
      <video
        ref={videoRef}
        controls
        playsInline
        aria-label={texts.t("player")}
        aria-describedby={`${id}-keys`}
        onKeyDown={onKey}
      />
      <p id={`${id}-keys`} className="help">
        {texts.t("playerKeys")}
      </p>
      <div className="player-choices">
        {levels.length > 1 ? (
          <TrackChoice label={texts.t("quality")} none={texts.t("auto")} choices={levels} value={level} onChange={chooseLevel} />
        ) : null}
        {subtitles.length > 0 ? (
          <TrackChoice label={texts.t("captions")} none={texts.t("off")} choices={subtitles} value={subtitle} onChange={chooseSubtitle} />
        ) : null}
      </div>
      {failed ? (
        <p className="status error" role="alert">
          {texts.t("failed")}
        </p>
      ) : null}
    </section>
  );
}
