// Run page (issue 15): when the session ends while htmx polls the live part, the poll is
// answered by the sign-in page (after the guard's redirect); go there instead of swapping
// a sign-in form into the run page, and come back to this page (not to the live part).
"use strict";
document.addEventListener("htmx:beforeSwap", (event) => {
  const url = new URL(event.detail.xhr.responseURL || window.location.href);
  if (url.origin === window.location.origin && url.pathname === "/login") {
    event.detail.shouldSwap = false;
    const here = window.location.pathname + window.location.search;
    window.location.assign("/login?next=" + encodeURIComponent(here));
  }
});
