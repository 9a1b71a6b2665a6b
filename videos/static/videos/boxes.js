// What the analysis found, drawn over the player at the frame it is showing: each face followed (named when
// identified), each line of text read and each thing labelled where it has a box. Read from the REST API
// (the page's session signs the requests) a minute of the video at a time, as the player reaches it: each read
// is audited as a view of the video, with its query, so a longer window leaves fewer rows in the trail.
"use strict";
(() => {
  const player = document.getElementById("video-player");
  const layer = document.getElementById("video-boxes");
  if (!player || !layer) return;
  const WINDOW = 60; // seconds of results read at once
  const every = 1 / parseFloat(player.dataset.sampleRate);
  const windows = new Map(); // window index -> {faces, found} once read (a promise while it is read)

  async function pages(url) {
    const rows = [];
    try {
      for (let next = url; next;) {
        const answer = await fetch(next, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!answer.ok) break; // not allowed to read these, or gone: nothing more drawn
        const page = await answer.json();
        rows.push(...page.results);
        next = page.next;
      }
    } catch {
      // the server out of reach for a moment: what was read is drawn, and the player plays on
    }
    return rows;
  }

  function read(index) {
    if (!windows.has(index)) {
      const query = `from_seconds=${index * WINDOW}&to_seconds=${(index + 1) * WINDOW}&page_size=500`;
      const faces = player.dataset.sightings ? pages(`${player.dataset.sightings}?${query}`) : Promise.resolve([]);
      const found = pages(`${player.dataset.frameLabels}?${query}`);
      windows.set(index, Promise.all([faces, found]).then(([f, l]) => {
        windows.set(index, { faces: f, found: l });
        draw();
      }));
    }
    const got = windows.get(index);
    return got instanceof Promise ? null : got;
  }

  // The frame shown: the latest sampled at or before the player's time, if it is at most one interval old.
  const shown = (at, now) => at <= now + 1e-3 && now - at < every - 1e-3;

  function boxesAt(now) {
    const results = read(Math.floor(now / WINDOW));
    if (!results) return [];
    const boxes = [];
    for (const sighting of results.faces) {
      const box = sighting.boxes.find(([at]) => shown(at, now));
      if (!box) continue;
      const person = sighting.person;
      boxes.push({ kind: person ? "face" : "face unknown", caption: person ? person.name : "unknown", box: box.slice(1, 5) });
    }
    for (const finding of results.found) {
      if (!shown(finding.at, now)) continue;
      for (const box of finding.boxes) boxes.push({ kind: finding.kind, caption: finding.name, box });
    }
    return boxes;
  }

  // The picture's place in the element: the player letterboxes it to keep its proportions.
  function picture() {
    const width = player.clientWidth, height = player.clientHeight;
    const scale = Math.min(width / (player.videoWidth || width), height / (player.videoHeight || height));
    const shownWidth = (player.videoWidth || width) * scale, shownHeight = (player.videoHeight || height) * scale;
    return { left: (width - shownWidth) / 2, top: (height - shownHeight) / 2, width: shownWidth, height: shownHeight };
  }

  function draw() {
    const area = picture();
    layer.replaceChildren(...boxesAt(player.currentTime).map(({ kind, caption, box: [left, top, width, height] }) => {
      const element = document.createElement("div");
      element.className = `box ${kind}`;
      element.dataset.caption = caption;
      element.style.left = `${area.left + left * area.width}px`;
      element.style.top = `${area.top + top * area.height}px`;
      element.style.width = `${width * area.width}px`;
      element.style.height = `${height * area.height}px`;
      const label = document.createElement("span");
      label.textContent = caption;
      element.append(label);
      return element;
    }));
  }

  for (const event of ["loadedmetadata", "timeupdate", "seeked", "pause"]) player.addEventListener(event, draw);
  window.addEventListener("resize", draw);
})();
