// raqib web: the one script. Copy buttons (rule YAML, feed URLs); everything else is HTML.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = source.value !== undefined ? source.value : source.textContent;
  const done = () => {
    const label = button.textContent;
    button.textContent = button.dataset.done || "✓";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => {});
  } else if (source.select) {
    source.select();
    done();
  }
});

// On a narrow screen the filters start folded, unless some are set (the form is long).
const filters = document.getElementById("filters");
if (filters && filters.dataset.active !== "1" && window.matchMedia("(max-width: 860px)").matches) {
  filters.open = false;
}
