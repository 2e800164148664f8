/** The viewer's session on a page load: read back from the API, its CSRF token kept in memory. */
import type { Api } from "./client";
import type { components } from "./schema";

export type ViewerSessionState = components["schemas"]["ViewerSessionState"];

/** The session's standing for the webcast; the API's later writes carry its CSRF token. */
export async function restoreViewerSession(api: Api, webcastId: string): Promise<ViewerSessionState> {
  const { data, response } = await api.client.GET("/api/w/{webcast_id}/session", {
    params: { path: { webcast_id: webcastId } },
  });
  if (data === undefined) {
    throw new Error(`the session read answered ${String(response.status)}`);
  }
  api.setCsrfToken(data.csrf_token);
  return data;
}
