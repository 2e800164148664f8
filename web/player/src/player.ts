/**
 * Plays the platform's HLS playlists with hls.js, framework-free (decision 0052).
 *
 * The playlists come from the API; every segment, init section and caption URL in them is a
 * SAS URL signed for a time window (shared/media/playback.py), and so is every live rung's
 * playlist URL in a live master (decision 0067). A VOD playlist is loaded once, so a long
 * video or a long pause outlives its URLs; a live rung's URL runs out while the player keeps
 * reloading it. When a fragment or a rung's playlist is refused with a 4xx, the loader
 * reloads the playlist that named it through the API (the rung's playlist for a fragment,
 * the master for a rung: fresh URLs for the current window) and loads it again from its
 * fresh URL; later loads take their fresh URLs too. hls.js only sees a slower load: nothing
 * restarts.
 */
import type Hls from "hls.js";
import type {
  FragmentLoaderConstructor,
  FragmentLoaderContext,
  HlsConfig,
  Loader,
  LoaderCallbacks,
  LoaderConfiguration,
  LoaderContext,
  LoaderStats,
  PlaylistLoaderConstructor,
  PlaylistLoaderContext,
} from "hls.js";

/** One reload of a playlist for fresh signed URLs. */
export interface Renewal {
  /** The playlist that was reloaded. */
  readonly playlist: string;
  /** What Blob answered for the URL that had expired. */
  readonly status: number;
  /** How many URLs the reloaded playlist holds; 0 when the reload failed. */
  readonly urls: number;
  readonly milliseconds: number;
}

export interface PlaybackOptions {
  /** The hls.js class (the page imports or bundles it). */
  readonly Hls: typeof Hls;
  readonly video: HTMLVideoElement;
  /** The master playlist's URL, as the API's summary names it. */
  readonly masterPlaylist: string;
  readonly config?: Partial<HlsConfig>;
  readonly onRenewal?: (renewal: Renewal) => void;
}

export interface Playback {
  readonly hls: Hls;
  destroy(): void;
}

export interface LiveSummary {
  readonly state: string;
  readonly master_playlist: string | null;
  readonly retry_after_seconds?: number | null;
}

const URI_ATTRIBUTE = /URI="([^"]*)"/g;
// A two-hour VOD of 4 s segments in four rungs holds about 7,200 URLs.
const MAX_FRESH_URLS = 50_000;
const LIVE_RETRY_SECONDS = { default: 2, min: 0.5, max: 30 };

/** The blob a signed URL names, without its signature: whose fresh URL replaces it. */
function blobOf(url: string): string {
  const parsed = new URL(url, document.baseURI);
  return parsed.origin + parsed.pathname;
}

/** Every URI a playlist names (lines and URI attributes), resolved against its own URL. */
export function playlistUris(text: string, base: string): string[] {
  const uris: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") {
      continue;
    }
    if (!line.startsWith("#")) {
      uris.push(new URL(line, base).href);
      continue;
    }
    for (const match of line.matchAll(URI_ATTRIBUTE)) {
      const uri = match[1];
      if (uri) {
        uris.push(new URL(uri, base).href);
      }
    }
  }
  return uris;
}

/** The freshest signed URL known for each blob, renewed by reloading a playlist. */
class SignedUrls {
  private readonly fresh = new Map<string, string>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly onRenewal: ((renewal: Renewal) => void) | undefined) {}

  current(url: string): string {
    return this.fresh.get(blobOf(url)) ?? url;
  }

  /** Reloads the playlist, once for all fragments that failed at the same time. */
  renew(playlist: string, status: number): Promise<void> {
    let renewal = this.pending.get(playlist);
    if (renewal === undefined) {
      renewal = this.reload(playlist, status).finally(() => this.pending.delete(playlist));
      this.pending.set(playlist, renewal);
    }
    return renewal;
  }

  private async reload(playlist: string, status: number): Promise<void> {
    const started = performance.now();
    let uris: string[] = [];
    try {
      // "no-cache" revalidates: a cached copy would hand back the URLs that just expired.
      const response = await fetch(this.current(playlist), {
        credentials: "same-origin",
        cache: "no-cache",
      });
      if (response.ok) {
        uris = playlistUris(await response.text(), response.url);
      }
    } catch {
      // Unreachable API: the fragment's own error goes to hls.js below.
    }
    for (const uri of uris) {
      const blob = blobOf(uri);
      if (this.fresh.size < MAX_FRESH_URLS || this.fresh.has(blob)) {
        this.fresh.set(blob, uri);
      }
    }
    this.onRenewal?.({
      playlist,
      status,
      urls: uris.length,
      milliseconds: performance.now() - started,
    });
  }
}

type LoaderClass<T extends LoaderContext> = new (config: HlsConfig) => Loader<T>;

/** A loader around hls.js's own that renews a refused URL once per load, by reloading the
 * playlist `playlistOf` names for the load (none: the error goes to hls.js as it is). */
function renewingLoader<T extends LoaderContext>(
  Base: LoaderClass<T>,
  urls: SignedUrls,
  playlistOf: (context: T) => string | null,
): LoaderClass<T> {
  return class RenewingLoader implements Loader<T> {
    context: T | null = null;
    private inner: Loader<T>;
    private ended = false;

    constructor(private readonly hlsConfig: HlsConfig) {
      this.inner = new Base(hlsConfig);
    }

    get stats(): LoaderStats {
      return this.inner.stats;
    }

    load(context: T, config: LoaderConfiguration, callbacks: LoaderCallbacks<T>): void {
      this.context = context;
      context.url = urls.current(context.url);
      this.start(context, config, callbacks, true);
    }

    private start(
      context: T,
      config: LoaderConfiguration,
      callbacks: LoaderCallbacks<T>,
      mayRenew: boolean,
    ): void {
      const onError: LoaderCallbacks<T>["onError"] = (
        error,
        failed,
        details,
        stats,
      ) => {
        const playlist = playlistOf(context);
        if (!mayRenew || playlist === null || error.code < 400 || error.code > 499) {
          callbacks.onError(error, failed, details, stats);
          return;
        }
        const stale = context.url;
        void urls.renew(playlist, error.code).then(() => {
          if (this.ended) {
            return;
          }
          const fresh = urls.current(stale);
          if (fresh === stale) {
            callbacks.onError(error, failed, details, stats);
            return;
          }
          context.url = fresh;
          // hls.js's loaders load once each.
          this.inner.destroy();
          this.inner = new Base(this.hlsConfig);
          this.start(context, config, callbacks, false);
        });
      };
      this.inner.load(context, config, { ...callbacks, onError });
    }

    abort(): void {
      this.ended = true;
      this.inner.abort();
    }

    destroy(): void {
      this.ended = true;
      this.inner.destroy();
      this.context = null;
    }

    getCacheAge(): number | null {
      return this.inner.getCacheAge?.() ?? null;
    }

    getResponseHeader(name: string): string | null {
      return this.inner.getResponseHeader?.(name) ?? null;
    }
  };
}

/** Plays the master playlist in the video element; expired signed URLs are renewed. */
export function startPlayback(options: PlaybackOptions): Playback {
  const { Hls: HlsClass, video, masterPlaylist, config = {} } = options;
  const urls = new SignedUrls(options.onRenewal);
  const fragments = config.fLoader ?? (HlsClass.DefaultConfig.loader as FragmentLoaderConstructor);
  const playlists = config.pLoader ?? (HlsClass.DefaultConfig.loader as PlaylistLoaderConstructor);
  const master = blobOf(masterPlaylist);
  const hls = new HlsClass({
    ...config,
    fLoader: renewingLoader<FragmentLoaderContext>(fragments, urls, (context) => context.frag.baseurl),
    // A rung's playlist comes from the master; the master itself has nothing to renew it from.
    pLoader: renewingLoader<PlaylistLoaderContext>(playlists, urls, (context) =>
      blobOf(context.url) === master ? null : masterPlaylist,
    ),
  });
  hls.attachMedia(video);
  hls.loadSource(masterPlaylist);
  return {
    hls,
    destroy: () => {
      hls.destroy();
    },
  };
}

function pause(seconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = (): void => {
      clearTimeout(timer);
      const reason: unknown = signal?.reason;
      reject(reason instanceof Error ? reason : new DOMException("aborted", "AbortError"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", aborted);
      resolve();
    }, seconds * 1000);
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

/**
 * The live stream's master playlist URL, once the API hands one out: until then the summary
 * says `starting` (and when to ask again) or answers 404 (nothing went live yet).
 */
export async function liveMasterPlaylist(
  summaryUrl: string,
  signal?: AbortSignal,
): Promise<string> {
  for (;;) {
    const response = await fetch(summaryUrl, {
      credentials: "same-origin",
      cache: "no-store",
      ...(signal ? { signal } : {}),
    });
    let wait = LIVE_RETRY_SECONDS.default;
    if (response.ok) {
      const summary = (await response.json()) as LiveSummary;
      if (summary.master_playlist) {
        return new URL(summary.master_playlist, response.url).href;
      }
      wait = summary.retry_after_seconds ?? wait;
    } else if (response.status !== 404) {
      throw new Error(`the live summary answered ${String(response.status)}`);
    }
    await pause(Math.min(Math.max(wait, LIVE_RETRY_SECONDS.min), LIVE_RETRY_SECONDS.max), signal);
  }
}
