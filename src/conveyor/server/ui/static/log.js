// Conveyor job page: follow a running job's log over Server-Sent Events (issue 15).
// The page is complete without this file (a "reload" link while the job runs). Each event
// carries rows the server already escaped; they are appended with one DocumentFragment,
// rows of a group (class "g") go into the group opened last, at most data-max-lines rows
// stay in the DOM (the oldest go, with a link to the full log), and the view follows the
// tail only while the reader is at the bottom.
"use strict";
(() => {
  const log = document.getElementById("log");
  if (!log || !log.dataset.stream || !window.EventSource) return;
  const max = parseInt(log.dataset.maxLines || "5000", 10);
  const dropped = document.getElementById("log-dropped");
  const badge = document.getElementById("job-status");
  let count = log.querySelectorAll(".ln").length;

  const atBottom = () =>
    window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 48;

  const openGroup = (node) =>
    node && node.tagName === "DETAILS" && node.classList.contains("grp") ? node : null;

  function append(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const fragment = document.createDocumentFragment();
    let group = openGroup(log.lastElementChild);
    for (const node of Array.from(template.content.children)) {
      if (node.classList.contains("g") && group) {
        group.appendChild(node);
      } else {
        fragment.appendChild(node);
        group = openGroup(node);
      }
      count += node.matches(".ln") ? 1 : node.querySelectorAll(".ln").length;
    }
    log.appendChild(fragment);
  }

  function trim() {
    while (count > max && log.firstElementChild) {
      const first = log.firstElementChild;
      count -= first.matches(".ln") ? 1 : first.querySelectorAll(".ln").length;
      first.remove();
      if (dropped) dropped.hidden = false;
    }
  }

  const source = new EventSource(log.dataset.stream);
  source.addEventListener("lines", (event) => {
    const follow = atBottom();
    append(event.data);
    trim();
    if (follow) window.scrollTo(0, document.documentElement.scrollHeight);
  });
  source.addEventListener("status", (event) => {
    source.close();
    const done = JSON.parse(event.data);
    const word = done.conclusion || done.status;
    if (badge) {
      const span = document.createElement("span");
      span.className = "st st-" + word.replace(/_/g, "-");
      span.textContent = word.replace(/_/g, " ");
      badge.replaceChildren(span);
    }
    for (const note of document.querySelectorAll(".live-note")) {
      const again = document.createElement("a");
      again.href = window.location.pathname;
      again.textContent = "reload";
      note.replaceChildren("The job has ended: ", again, " for its steps' final state.");
    }
  });
})();
