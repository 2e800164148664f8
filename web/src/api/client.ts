/**
 * The API client of every page: openapi-fetch over the types generated from the API's OpenAPI
 * document (`schema.d.ts`, `python -m devtools.api_client --write`), never hand-written ones.
 *
 * Pages and API share one origin: requests go with the session cookie (same-origin only), and
 * every state-changing request carries the session's CSRF token, which the page keeps in
 * memory only (it comes with each sign-in and with the session read after a reload).
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { paths } from "./schema";

export const CSRF_HEADER = "X-CSRF-Token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface ApiOptions {
  /** Where `/api` lives; the page's own origin unless a test says otherwise. */
  readonly baseUrl?: string;
  readonly fetch?: typeof globalThis.fetch;
}

export interface Api {
  readonly client: Client<paths>;
  /** The session's CSRF token for later state-changing requests (null: none yet). */
  setCsrfToken(token: string | null): void;
}

export function createApi(options: ApiOptions = {}): Api {
  let csrfToken: string | null = null;
  const client = createClient<paths>({
    baseUrl: options.baseUrl ?? "",
    credentials: "same-origin",
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const csrf: Middleware = {
    onRequest({ request }) {
      if (csrfToken !== null && !SAFE_METHODS.has(request.method)) {
        request.headers.set(CSRF_HEADER, csrfToken);
      }
      return request;
    },
  };
  client.use(csrf);
  return {
    client,
    setCsrfToken(token) {
      csrfToken = token;
    },
  };
}
