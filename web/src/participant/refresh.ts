/** Conditional polling: ask again every few seconds with the last ETag, skip while the page is
 * hidden, and ask at once when it is shown again. */
import { useEffect, useRef, useState } from "react";

export type Fetched<T> =
  | { readonly kind: "changed"; readonly data: T; readonly etag: string | null }
  | { readonly kind: "unchanged" }
  | { readonly kind: "failed"; readonly status: number };

export type Fetcher<T> = (etag: string | null, signal: AbortSignal) => Promise<Fetched<T>>;

export interface Refreshed<T> {
  readonly data: T | null;
  /** The status of the last failed request (null after a success). */
  readonly failed: number | null;
  /** Ask now, e.g. after the viewer's own write. */
  readonly refresh: () => void;
}

/** The response of a conditional GET in `Fetched` terms. */
export function fetchedOf<T>(response: Response, data: T | undefined): Fetched<T> {
  if (response.status === 304) {
    return { kind: "unchanged" };
  }
  if (data === undefined || !response.ok) {
    return { kind: "failed", status: response.status };
  }
  return { kind: "changed", data, etag: response.headers.get("ETag") };
}

export function useRefreshing<T>(fetcher: Fetcher<T>, seconds: number, enabled = true): Refreshed<T> {
  const [data, setData] = useState<T | null>(null);
  const [failed, setFailed] = useState<number | null>(null);
  const [asked, setAsked] = useState(0);
  const etag = useRef<string | null>(null);

  useEffect(() => {
    if (!enabled) {
      return undefined;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = async (): Promise<void> => {
      clearTimeout(timer);
      if (!document.hidden) {
        try {
          const result = await fetcher(etag.current, controller.signal);
          if (result.kind === "changed") {
            etag.current = result.etag;
            setData(result.data);
            setFailed(null);
          } else if (result.kind === "failed") {
            setFailed(result.status);
          }
        } catch (error) {
          if (controller.signal.aborted) {
            return;
          }
          setFailed(0);
          console.warn("refresh failed", error);
        }
      }
      if (!controller.signal.aborted) {
        timer = setTimeout(() => void ask(), seconds * 1000);
      }
    };
    const shown = (): void => {
      if (!document.hidden) {
        void ask();
      }
    };
    void ask();
    document.addEventListener("visibilitychange", shown);
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", shown);
    };
  }, [fetcher, seconds, enabled, asked]);

  return {
    data,
    failed,
    refresh: () => {
      setAsked((count) => count + 1);
    },
  };
}
