// The sightings placed on the timeline where they happen (set here: the page's policy allows no style
// attributes), and a click on one (on the timeline or in the table) seeks the player to it and plays.
"use strict";
for (const sighting of document.querySelectorAll("#timeline [data-left]")) {
  sighting.style.left = `${sighting.dataset.left}%`;
  sighting.style.width = `${sighting.dataset.width}%`;
}
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-seek]");
  const player = document.getElementById("video-player");
  if (!target || !player) return;
  event.preventDefault();
  player.currentTime = parseFloat(target.dataset.seek);
  player.play().catch(() => {}); // a browser may refuse to start sound-less play without a gesture; the seek stands
});
