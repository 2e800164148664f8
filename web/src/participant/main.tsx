/** The participant pages' entry: one static document for every webcast; the address says which. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createApi } from "../api/client";
import { App } from "./App";
import { linkSecrets, routeOf } from "./routes";
import "../styles/tokens.css";
import "./page.css";

// A mailed link opened in a tab that shows the page already changes only the fragment: start
// again, so that the page takes the link's token like on any other opening.
window.addEventListener("hashchange", () => {
  const secrets = linkSecrets("", location.hash);
  if (secrets.token !== null || secrets.erase !== null) {
    location.reload();
  }
});

const root = document.getElementById("root");
if (root === null) {
  throw new Error("the page has no #root");
}
createRoot(root).render(
  <StrictMode>
    <App api={createApi()} route={routeOf(location.pathname)} />
  </StrictMode>,
);
