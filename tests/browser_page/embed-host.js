// Frames the participant page named by `?src=` the way a customer's snippet does.
const frame = document.createElement("iframe");
frame.src = new URLSearchParams(location.search).get("src");
frame.title = "Webcast";
frame.width = "960";
frame.height = "720";
frame.allow = "autoplay; fullscreen";
document.querySelector("main").append(frame);
