// The test page's script (tests/browser.py): enters as a viewer through the API, finds the
// master playlist, plays it with the product's player module and records what tests assert.
import { liveMasterPlaylist, startPlayback } from "/_harness/player/player.js";

const params = new URLSearchParams(location.search);
const webcast = params.get("webcast");
const mode = params.get("mode") === "live" ? "live" : "vod";
// A bench's baseline: no viewer and no API; the test hands over a master playlist URL
// (`harness.play(url)`) and the page plays it with hls.js alone.
const direct = params.get("direct") === "1";
const hlsConfig = JSON.parse(params.get("config") || "{}");
const video = document.getElementById("video");
const Hls = window.Hls;

const state = {
  mode,
  // Wall-clock milliseconds (Date.now()), comparable with the test's time.time() * 1000.
  loadedAt: Date.now(),
  enteredAt: null,
  masterAt: null,
  awaitingMaster: false,
  firstFrameAt: null,
  // Wall-clock milliseconds of the first occurrence of each hls.js event in TIMELINE.
  timeline: {},
  csrf: null,
  master: null,
  levels: [],
  levelSwitches: [],
  fragments: [],
  errors: [],
  fatal: false,
  renewals: [],
  subtitleTracks: [],
  cues: [],
  ended: false,
  paused: true,
  currentTime: 0,
  videoHeight: 0,
  latency: null,
};
const harness = {
  hls: null,
  video,
  state,
  snapshot() {
    state.ended = video.ended;
    state.paused = video.paused;
    state.currentTime = video.currentTime;
    state.videoHeight = video.videoHeight;
    state.latency = harness.hls && mode === "live" ? harness.hls.latency : null;
    return JSON.parse(JSON.stringify(state));
  },
};
window.harness = harness;

function fail(message) {
  state.errors.push({ details: message, fatal: true });
  state.fatal = true;
}

function watchCues() {
  video.textTracks.addEventListener("addtrack", (event) => {
    event.track.addEventListener("cuechange", () => {
      for (const cue of event.track.activeCues || []) {
        if (!state.cues.includes(cue.text)) {
          state.cues.push(cue.text);
        }
      }
    });
  });
}

function watchFirstFrame() {
  if (video.requestVideoFrameCallback) {
    video.requestVideoFrameCallback(() => {
      state.firstFrameAt = Date.now();
    });
  } else {
    video.addEventListener("playing", () => {
      state.firstFrameAt ??= Date.now();
    }, { once: true });
  }
}

const TIMELINE = ["MANIFEST_LOADED", "LEVEL_LOADED", "FRAG_LOADING", "FRAG_LOADED", "FRAG_BUFFERED"];

function observe(hls) {
  const events = Hls.Events;
  for (const name of TIMELINE) {
    hls.on(events[name], () => {
      state.timeline[name] ??= Date.now();
    });
  }
  hls.on(events.MANIFEST_PARSED, (_, data) => {
    state.levels = data.levels.map((level) => ({ height: level.height, bitrate: level.bitrate }));
    video.play().catch((error) => fail(`play() refused: ${error}`));
  });
  hls.on(events.LEVEL_SWITCHED, (_, data) => {
    state.levelSwitches.push({ level: data.level, at: video.currentTime });
  });
  hls.on(events.SUBTITLE_TRACKS_UPDATED, (_, data) => {
    state.subtitleTracks = data.subtitleTracks.map((track) => ({
      name: track.name,
      lang: track.lang,
    }));
  });
  hls.on(events.FRAG_LOADED, (_, data) => {
    state.fragments.push({
      type: data.frag.type,
      sn: data.frag.sn,
      level: data.frag.level,
      url: data.frag.url,
      loadedUrl: data.networkDetails?.responseURL || null,
    });
  });
  hls.on(events.ERROR, (_, data) => {
    state.errors.push({
      type: data.type,
      details: data.details,
      fatal: data.fatal,
      code: data.response?.code ?? null,
      url: data.frag?.url ?? data.url ?? null,
    });
    state.fatal ||= data.fatal;
  });
}

async function enter() {
  const response = await fetch(`/api/w/${encodeURIComponent(webcast)}/enter`, {
    method: "POST",
    credentials: "same-origin",
  });
  if (!response.ok) {
    throw new Error(`enter answered ${response.status}: ${await response.text()}`);
  }
  state.csrf = (await response.json()).csrf_token;
  state.enteredAt = Date.now();
}

async function masterPlaylist() {
  const summary = `/api/w/${encodeURIComponent(webcast)}/${mode}`;
  if (mode === "live") {
    return liveMasterPlaylist(summary);
  }
  const response = await fetch(summary, { credentials: "same-origin" });
  if (!response.ok) {
    throw new Error(`the VOD summary answered ${response.status}`);
  }
  return new URL((await response.json()).master_playlist, response.url).href;
}

async function main() {
  if (!Hls || !Hls.isSupported()) {
    throw new Error("hls.js is missing or MSE is not supported");
  }
  if (direct) {
    state.master = await new Promise((resolve) => {
      harness.play = resolve;
      state.awaitingMaster = true;
    });
  } else {
    await enter();
    state.master = await masterPlaylist();
  }
  state.masterAt = Date.now();
  watchCues();
  watchFirstFrame();
  if (direct) {
    harness.hls = new Hls(hlsConfig);
    observe(harness.hls);
    harness.hls.attachMedia(video);
    harness.hls.loadSource(state.master);
    return;
  }
  const playback = startPlayback({
    Hls,
    video,
    masterPlaylist: state.master,
    config: hlsConfig,
    onRenewal: (renewal) => state.renewals.push({ ...renewal, at: video.currentTime }),
  });
  harness.hls = playback.hls;
  observe(playback.hls);
}

main().catch((error) => fail(String(error)));
