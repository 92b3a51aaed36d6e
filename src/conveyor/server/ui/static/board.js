// The pipeline board's refresh (htmx polls /board/body every few seconds): never swap
// the body away from under the keyboard focus or an open selection, and when the
// session has ended (the poll lands on the sign-in page) reload so the browser goes there.
"use strict";
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (!target || target.id !== "board-body") return;
  const xhr = event.detail.xhr;
  if (xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === "/login") {
    event.detail.shouldSwap = false;
    window.location.reload();
    return;
  }
  const focused = document.activeElement;
  const selecting = !window.getSelection().isCollapsed;
  if ((focused && focused !== document.body && target.contains(focused)) || selecting) {
    event.detail.shouldSwap = false; // the next poll swaps once the user has moved on
  }
});
