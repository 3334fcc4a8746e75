// The new-dream form: offer only the lengths and aspect ratios the chosen backend takes, keep
// the prompt counter's limit right, and show the estimated cost before anything is submitted.
// The server checks all of it again; without this script every option stays visible.
(function () {
  "use strict";
  const offers = JSON.parse(document.getElementById("backend-offers").textContent);
  const form = document.getElementById("dream-form");
  if (!form) return;
  const duration = form.querySelector("#id_duration");
  const ratio = form.querySelector("#id_aspect_ratio");
  const prompt = form.querySelector("#id_prompt");
  const count = document.getElementById("prompt-count");
  const limit = document.getElementById("prompt-limit");
  const firstFrameRow = document.getElementById("first-frame-row");
  // Present only when the GPU keyframe model is ready.
  const drawRow = document.getElementById("draw-first-frame-row");
  const cost = document.getElementById("cost-value");

  const selectedBackend = () => {
    const checked = form.querySelector('input[name="backend"]:checked');
    return checked ? offers[checked.value] : null;
  };

  // Keep only the options the backend offers; pick its first when the current one is not.
  function restrict(select, allowed) {
    let keep = false;
    Array.from(select.options).forEach((option) => {
      const ok = allowed.includes(option.value);
      option.hidden = !ok;
      option.disabled = !ok;
      if (ok && option.selected) keep = true;
    });
    if (!keep) {
      const first = Array.from(select.options).find((o) => !o.disabled);
      if (first) select.value = first.value;
    }
  }

  const asKey = (seconds) => String(Number(seconds));

  function update() {
    const offer = selectedBackend();
    if (!offer) return;
    restrict(duration, offer.durations.map(asKey));
    restrict(ratio, offer.aspect_ratios);
    const seconds = Number(duration.value);
    const max = offer.prompt_limits[asKey(seconds)] || 0;
    limit.textContent = max;
    // The box takes no more than the counter allows (the server checks again).
    if (max) prompt.maxLength = max;
    const used = [...prompt.value].length;
    count.textContent = used;
    count.classList.toggle("error", used > max);
    const takesImage = offer.first_frame_durations.map(Number).includes(seconds);
    if (drawRow) {
      drawRow.hidden = !offer.draws_first_frame;
      if (drawRow.hidden) drawRow.querySelector("input").checked = false;
    }
    // A drawn opening frame takes the photo's place.
    const drawn = drawRow && drawRow.querySelector("input").checked;
    firstFrameRow.hidden = !takesImage || drawn;
    // The backend's own estimate for this length (a GPU clip's is its GPU time, with the
    // drawing's when one is drawn); the per-second price otherwise.
    const estimate = (drawn ? offer.drawn_estimates : offer.estimates)[asKey(seconds)];
    const usd = estimate !== undefined ? Number(estimate) : Number(offer.usd_per_second) * seconds;
    cost.textContent = "$" + usd.toFixed(2);
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
