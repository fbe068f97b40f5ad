// The page: one socket, two views, the error banner and the state in the URL.

import { ForwardView } from "./forward.js";
import { LearnView } from "./learn.js";
import { Socket } from "./socket.js";
import { readState, writeState } from "./urlstate.js";

const $ = (id) => document.getElementById(id);

function showError(text) {
  $("error-text").textContent = text;
  $("error-banner").hidden = false;
}
window.nerveShowError = showError;

function setStatus(text, ok) {
  const el = $("conn-status");
  el.textContent = text;
  el.className = `conn ${ok ? "ok" : "bad"}`;
}

const protocol = window.location.protocol === "https:" ? "wss" : "ws";
const socket = new Socket(`${protocol}://${window.location.host}/ws`, setStatus);
const initial = readState();
let view = initial.view;

const saveState = () => {
  writeState({
    view,
    learn: learn.confirmed,
    forward: forward.state(),
  });
};
const forward = new ForwardView(socket, saveState);
const learn = new LearnView(socket, saveState);

function showView(name) {
  view = name;
  $("view-forward").hidden = name !== "forward";
  $("view-learn").hidden = name !== "learn";
  forward.visible = name === "forward";
  learn.visible = name === "learn";
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", tab.dataset.view === name);
  }
  if (name === "learn" && learn.data) {
    learn.buildNetwork();
    learn.updateNetwork();
  }
  saveState();
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => showView(tab.dataset.view));
}
$("error-close").addEventListener("click", () => {
  $("error-banner").hidden = true;
});

socket.on("error", (m) => {
  const where = m.field ? ` [${m.request || "message"}.${m.field}]` : "";
  showError(`${m.message}${where}`);
});
socket.on("hello", () => {
  forward.start(initial.forward);
  learn.start(initial.learn);
});

window.addEventListener("resize", () => {
  if (learn.visible && learn.data) {
    learn.buildNetwork();
    learn.updateNetwork();
  }
});

showView(view);
socket.connect();

// For tests and the curious: the live objects, e.g. nerve.forward.sample in the console.
window.nerve = { socket, forward, learn, showView };
