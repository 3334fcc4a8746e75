// Live progress for every element marked data-job-kind and data-job-id on the page (a dream,
// a film, a film's scene). One websocket per page; after any drop it reconnects with a growing
// delay and asks the server for the current state of the page's jobs, so nothing missed stays
// missed.
(function () {
  "use strict";

  const containers = () => Array.from(document.querySelectorAll("[data-job-kind][data-job-id]"));
  if (containers().length === 0) return;

  function show(element, visible) {
    if (visible) element.removeAttribute("hidden");
    else element.setAttribute("hidden", "");
  }

  function applyToContainer(container, event) {
    const active = event.status === "queued" || event.status === "running";
    const flags = {
      active: active,
      can_cancel: event.can_cancel,
      can_retry: event.can_retry,
      succeeded: event.status === "succeeded",
      "no-poster": !event.poster_url,
      content_filtered: Boolean(event.content_filtered),
      writing_now: Boolean(event.writing) && !event.error,
      writing_failed: Boolean(event.writing) && Boolean(event.error),
    };
    // A model finished writing this film's script: the page is rebuilt around its storyboard.
    if (container.dataset.writing === "true" && event.kind === "film" && !event.writing) {
      window.location.reload();
      return;
    }
    container.dataset.status = event.status;
    if (event.kind === "film") {
      // The storyboard can be edited again once the film stops rendering, without a reload.
      const storyboard = document.getElementById("storyboard");
      if (storyboard) storyboard.dataset.filmEditable = String(!active);
    }
    container.querySelectorAll("[data-show-if]").forEach((el) => show(el, flags[el.dataset.showIf]));
    container.querySelectorAll("[data-field]").forEach((el) => {
      switch (el.dataset.field) {
        case "status":
          el.textContent = event.status_label;
          el.dataset.status = event.status;
          break;
        case "progress":
          el.value = event.percent;
          el.setAttribute("value", String(event.percent));
          break;
        case "percent":
          el.textContent = event.percent;
          break;
        case "stage":
          el.textContent = event.stage;
          break;
        case "length":
          // The finished clip's own length, written as the server writes it after a reload.
          if (event.duration_seconds) el.textContent = `${Number(event.duration_seconds).toFixed(1)} s`;
          break;
        case "cost":
          if (event.cost) el.textContent = event.cost;
          break;
        case "cost-label":
          el.textContent = event.cost_is_estimate ? "Estimated cost" : "Cost";
          break;
        case "error":
          el.textContent = event.error;
          show(el, Boolean(event.error));
          break;
        case "poster":
          if (event.poster_url && el.getAttribute("src") !== event.poster_url) el.src = event.poster_url;
          show(el, Boolean(event.poster_url));
          break;
        case "player": {
          const current = el.querySelector("video");
          // A film rendered again has a new address for its new cut: play that instead.
          if (current && event.video_url && current.getAttribute("src") !== event.video_url) current.remove();
          if (event.video_url && !el.querySelector("video")) {
            const video = document.createElement("video");
            video.controls = true;
            video.playsInline = true;
            video.preload = "auto";
            if (event.poster_url) video.poster = event.poster_url;
            video.src = event.video_url;
            if (event.subtitles_url) {
              // A sidecar WebVTT track: Chromium does not show an MP4's own mov_text track.
              const track = document.createElement("track");
              track.kind = "subtitles";
              track.srclang = event.subtitles_language || "und";
              track.label = event.subtitles_label || "Subtitles";
              track.src = event.subtitles_url;
              // Off by default where the subtitles are burnt in (still offered in the menu).
              track.default = event.subtitles_default !== false;
              video.appendChild(track);
            }
            el.appendChild(video);
          }
          break;
        }
        case "thumbnail":
        case "keyframe-first":
        case "keyframe-last": {
          const key = { thumbnail: "thumbnail_url", "keyframe-first": "first_keyframe_url", "keyframe-last": "last_keyframe_url" }[el.dataset.field];
          const url = event[key];
          if (url && el.getAttribute("src") !== url) el.src = url;
          show(el, Boolean(url));
          break;
        }
        case "keyframes-state":
          // A scene's keyframes arrive while the storyboard is open.
          el.textContent = event.first_keyframe_url ? "ready" : "being drawn";
          break;
        case "narration-seconds":
          if (event.narration_seconds) el.textContent = `${Number(event.narration_seconds).toFixed(1)} s`;
          break;
      }
    });
  }

  function apply(event) {
    containers()
      .filter((c) => c.dataset.jobKind === event.kind && c.dataset.jobId === event.id)
      .forEach((c) => applyToContainer(c, event));
  }

  // While the socket is down, say so: a bar frozen at "Running 51 %" must not look live.
  const notice = document.createElement("p");
  notice.className = "connection-lost";
  notice.setAttribute("role", "status");
  notice.hidden = true;
  notice.textContent = "Connection to the server lost. Reconnecting… progress shown may be out of date.";
  document.querySelector("main").prepend(notice);
  let everConnected = false;

  let delay = 500;
  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/jobs/`);
    socket.addEventListener("open", () => {
      everConnected = true;
      notice.hidden = true;
      containers().forEach((c) => c.classList.remove("stale"));
      delay = 500;
      const jobs = containers().map((c) => ({ kind: c.dataset.jobKind, id: c.dataset.jobId }));
      socket.send(JSON.stringify({ type: "sync", jobs: jobs }));
    });
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "event") apply(data.event);
    });
    socket.addEventListener("close", (closed) => {
      // 4401: this page's session no longer signs anyone in (signed out): stop listening.
      if (closed.code === 4401) return;
      if (everConnected) {
        notice.hidden = false;
        containers().forEach((c) => c.classList.add("stale"));
      }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    });
  }

  // A film's chapter list: a chapter plays the film from where its scene starts.
  document.addEventListener("click", (clicked) => {
    const link = clicked.target.closest("[data-seek]");
    const video = link && document.querySelector("#film video");
    if (!video) return;
    clicked.preventDefault();
    video.currentTime = Number(link.dataset.seek);
    video.play().catch(() => {});
  });

  const initial = document.getElementById("dream-initial");
  if (initial) apply(JSON.parse(initial.textContent));
  connect();
})();
