// crowdloop console: the copy buttons (`data-copy="<id of the input to copy>"`, `data-copy-what="link"`: the
// word the status line uses) of the workers page (invitation links) and the events page (webhook secrets).
"use strict";

async function copyFieldText(button) {
  const input = document.getElementById(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  const what = button.dataset.copyWhat || "text";
  if (!input) return;
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch (error) {
    input.focus();
    input.select();  // no clipboard access: leave it selected for Ctrl+C
  }
  if (status) { // what: "link" or "secret" (console.copied.link, console.copy_yourself.secret, ...)
    const t = window.crowdloopConsole.t;
    status.textContent = copied ? t("console.copied." + what) : t("console.copy_yourself." + what);
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (button) copyFieldText(button);
});
