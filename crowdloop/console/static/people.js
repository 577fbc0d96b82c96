// crowdloop console, people part: the copy buttons (`data-copy="<id of the input to copy>"`).
"use strict";

async function copyFieldText(button) {
  const input = document.getElementById(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  if (!input) return;
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch (error) {
    input.focus();
    input.select();  // no clipboard access: leave it selected for Ctrl+C
  }
  if (status) status.textContent = copied ? "Link copied." : "Press Ctrl+C (or ⌘C) to copy the selected link.";
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (button) copyFieldText(button);
});
