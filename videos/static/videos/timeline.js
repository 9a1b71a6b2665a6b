// A click on a sighting (on the timeline or in the table) seeks the player to it and plays.
"use strict";
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-seek]");
  const player = document.getElementById("video-player");
  if (!target || !player) return;
  event.preventDefault();
  player.currentTime = parseFloat(target.dataset.seek);
  player.play().catch(() => {}); // a browser may refuse to start sound-less play without a gesture; the seek stands
});
