/** Which participant page an address names, and the secrets a mailed link carries. */

export type Route =
  | { readonly page: "landing" }
  | { readonly page: "webcast"; readonly webcastId: string; readonly embedded: boolean }
  | { readonly page: "password-reset"; readonly webcastId: string }
  | { readonly page: "privacy"; readonly webcastId: string }
  /** A readable address: the customer account's slug and the webcast's. */
  | { readonly page: "address"; readonly tenantSlug: string; readonly webcastSlug: string }
  | { readonly page: "not-found" };

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** The page for a path: `/w/{id}`, its sub-pages, `/embed/{id}`, `/p/{account}/{webcast}`;
 * anything else is unknown. */
export function routeOf(pathname: string): Route {
  const parts = pathname.split("/").filter((part) => part !== "");
  const [first, id, sub, ...rest] = parts;
  if (parts.length === 0) {
    return { page: "landing" };
  }
  if (first === "p" && id !== undefined && sub !== undefined && rest.length === 0) {
    return SLUG.test(id) && SLUG.test(sub) ? { page: "address", tenantSlug: id, webcastSlug: sub } : { page: "not-found" };
  }
  if (id === undefined || !ID.test(id) || rest.length > 0) {
    return { page: "not-found" };
  }
  if (first === "embed" && sub === undefined) {
    return { page: "webcast", webcastId: id, embedded: true };
  }
  if (first !== "w") {
    return { page: "not-found" };
  }
  if (sub === undefined) {
    return { page: "webcast", webcastId: id, embedded: false };
  }
  if (sub === "password-reset") {
    return { page: "password-reset", webcastId: id };
  }
  if (sub === "privacy") {
    return { page: "privacy", webcastId: id };
  }
  return { page: "not-found" };
}

export interface LinkSecrets {
  /** A personal sign-in, confirmation, reset, privacy or embed token. */
  readonly token: string | null;
  /** The internal registration link's key. */
  readonly key: string | null;
  /** The mailed link that confirms an erasure asked for on the privacy page. */
  readonly erase: string | null;
}

/**
 * The secrets of a mailed link: after `#` (never sent to a server), or in the query string of
 * links mailed before they moved there. Each is bounded like the API bounds it.
 */
export function linkSecrets(search: string, hash: string): LinkSecrets {
  const fromHash = new URLSearchParams(hash.replace(/^#/, ""));
  const fromQuery = new URLSearchParams(search);
  const pick = (name: string, max: number): string | null => {
    const value = fromHash.get(name) ?? fromQuery.get(name);
    return value !== null && value !== "" && value.length <= max ? value : null;
  };
  return { token: pick("token", 256), key: pick("key", 64), erase: pick("erase", 256) };
}

/** The address without its secrets, for `history.replaceState`: a link's token leaves the
 * address bar, the history and any later copy of the address. */
export function withoutSecrets(href: string): string {
  const url = new URL(href);
  url.hash = "";
  url.searchParams.delete("token");
  url.searchParams.delete("key");
  url.searchParams.delete("erase");
  return url.pathname + url.search;
}
