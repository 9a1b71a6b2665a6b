/* The review queue by keyboard: j/k (or arrows) move between faces, c confirms, r rejects, a assigns. */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  const rows = Array.from(document.querySelectorAll("#result_list tbody tr"));
  if (!rows.length) return;
  let current = 0;
  function show(index) {
    rows[current].classList.remove("review-current");
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("review-current");
    rows[current].scrollIntoView({ block: "nearest" });
  }
  function press(kind) {
    const target = rows[current].querySelector('[data-review="' + kind + '"]');
    if (target) target.click();
  }
  show(0);
  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    const keys = { j: () => show(current + 1), ArrowDown: () => show(current + 1), k: () => show(current - 1),
      ArrowUp: () => show(current - 1), c: () => press("confirm"), r: () => press("reject"), a: () => press("assign") };
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
});
