// Photo pickers: check each chosen file before it is sent (type, size, that it decodes as an
// image, how many), and take out only the ones that would be refused, saying why. Before,
// one bad file made the server refuse the form, and the browser cleared every file chosen with
// it. The server checks everything again; without this script nothing changes there.
(function () {
  "use strict";

  const megabytes = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

  async function problem(file, accepted, maxBytes) {
    if (!accepted.includes(file.type)) return "is not a JPEG, PNG or WebP photo";
    if (file.size > maxBytes) return `is ${megabytes(file.size)}; the limit is ${megabytes(maxBytes)}`;
    try {
      const bitmap = await createImageBitmap(file);
      bitmap.close();
    } catch (error) {
      return "cannot be read as an image";
    }
    return null;
  }

  function report(input, lines) {
    let box = input.parentElement.querySelector(".upload-problems");
    if (!box) {
      box = document.createElement("div");
      box.className = "upload-problems error";
      box.setAttribute("role", "alert");
      input.insertAdjacentElement("afterend", box);
    }
    box.replaceChildren(...lines.map((line) => Object.assign(document.createElement("small"), { textContent: line })));
    box.hidden = lines.length === 0;
  }

  document.querySelectorAll("input[type=file][data-max-bytes]").forEach((input) => {
    input.addEventListener("change", async () => {
      const accepted = (input.accept || "").split(",");
      const maxBytes = Number(input.dataset.maxBytes);
      const maxFiles = Number(input.dataset.maxFiles || "0");
      const kept = new DataTransfer();
      const lines = [];
      for (const file of Array.from(input.files)) {
        const why = await problem(file, accepted, maxBytes);
        if (why) lines.push(`“${file.name}” ${why}, so it was left out.`);
        else if (maxFiles && kept.files.length >= maxFiles) lines.push(`“${file.name}” was left out: ${maxFiles} photos at most.`);
        else kept.items.add(file);
      }
      if (lines.length) input.files = kept.files;
      report(input, lines);
    });
  });
})();
