// Puts the iframe snippet named by `?snippet=` (the API's, with the customer's token in it)
// into the page the way a customer's CMS does: as markup, parsed, not run.
const markup = new URLSearchParams(location.search).get("snippet") ?? "";
const parsed = new DOMParser().parseFromString(markup, "text/html");
const frame = parsed.querySelector("iframe");
if (frame === null) {
  throw new Error("the snippet holds no iframe");
}
document.querySelector("main").append(document.importNode(frame, false));
