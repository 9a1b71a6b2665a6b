// The door kiosk: a badge (typed, or from a reader that types and ends with Enter) and a still from the
// camera, checked by the server; ACCEPTED or REJECTED for a few seconds, then ready again. Plain JS.
"use strict";
(function () {
  const root = document.getElementById("kiosk");
  const video = document.getElementById("video");
  const canvas = document.getElementById("still");
  const message = document.getElementById("message");
  const badgeInput = document.getElementById("badge");
  const result = document.getElementById("result");
  const connection = document.getElementById("connection");
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const liveness = root.dataset.liveness === "on";
  const challengeFrames = parseInt(root.dataset.frames, 10) || 10;
  const SHOW_RESULT_MS = 4000;
  const FRAME_EVERY_MS = 200;
  let busy = false;

  function setState(state, text) {
    root.dataset.state = state;
    message.textContent = text;
  }

  function ready() {
    busy = false;
    result.hidden = true;
    badgeInput.value = "";
    badgeInput.disabled = false;
    badgeInput.focus();
    setState("ready", navigator.onLine ? "Present your badge" : "Offline: checks are not possible");
  }

  function still() {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function challenge() {
    // Half the frames while asking for a turn to the left, half for the right.
    const frames = [];
    for (const [side, count] of [["LEFT", Math.ceil(challengeFrames / 2)], ["RIGHT", Math.floor(challengeFrames / 2)]]) {
      setState("challenge", "Turn your head " + side);
      for (let i = 0; i < count; i++) {
        await pause(FRAME_EVERY_MS);
        frames.push(await still());
      }
    }
    return frames;
  }

  function show(accepted, word, detail, photo) {
    result.className = accepted ? "accepted" : "rejected";
    document.getElementById("result-word").textContent = word;
    document.getElementById("result-detail").textContent = detail;
    const img = document.getElementById("result-photo");
    if (photo) img.src = photo; else img.removeAttribute("src");
    result.hidden = false;
    root.dataset.state = accepted ? "accepted" : "rejected";
    setTimeout(ready, SHOW_RESULT_MS);
  }

  async function check(badge) {
    if (busy || !badge) return;
    busy = true;
    badgeInput.disabled = true;
    if (!navigator.onLine) { show(false, "NOT CHECKED", "Offline"); return; }
    setState("checking", "Look at the camera");
    const body = new FormData();
    body.append("badge", badge);
    body.append("photo", await still(), "photo.jpg");
    if (liveness) {
      for (const frame of await challenge()) body.append("frames", frame, "frame.jpg");
    }
    setState("checking", "Checking…");
    let answer;
    try {
      const response = await fetch(root.dataset.verifyUrl, {
        method: "POST", body, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      });
      answer = await response.json();
      if (!response.ok) { show(false, "NOT CHECKED", answer.error || "Try again"); return; }
      connection.hidden = true;
    } catch (error) {
      connection.hidden = false;
      connection.textContent = "Server unreachable";
      show(false, "NOT CHECKED", "Server unreachable");
      return;
    }
    if (answer.accepted) show(true, "ACCEPTED", answer.name, answer.thumbnail);
    else show(false, "REJECTED", answer.reason);
  }

  // A badge reader types its code and Enter wherever the focus is; so does a person at a keyboard.
  let typed = "";
  document.addEventListener("keydown", (event) => {
    if (busy) { event.preventDefault(); return; }
    if (event.target === badgeInput) return; // the form's own submit handles it
    if (event.key === "Enter") { const badge = typed.trim(); typed = ""; check(badge); }
    else if (event.key.length === 1) typed += event.key;
  });
  document.getElementById("badge-form").addEventListener("submit", (event) => {
    event.preventDefault();
    check(badgeInput.value.trim());
  });
  window.addEventListener("offline", () => { connection.hidden = false; connection.textContent = "Offline"; if (!busy) ready(); });
  window.addEventListener("online", () => { connection.hidden = true; if (!busy) ready(); });

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setState("error", "No camera here (this page needs HTTPS or localhost).");
      return;
    }
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      await video.play();
      ready();
    } catch (error) {
      setState("error", error.name === "NotAllowedError" ? "Camera access was denied: allow it in the browser." : "The camera could not be started: " + error.message);
    }
  }
  start();
})();
