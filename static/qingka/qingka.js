// The site's only script besides htmx: small behaviours that were inline attributes, moved here
// so the Content-Security-Policy can forbid inline script. Delegated, so swapped-in parts work too.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) el.form.submit();
  if (el.matches("input[data-select-all]")) {
    document.querySelectorAll(el.dataset.selectAll).forEach((box) => { box.checked = el.checked; });
  }
});

document.addEventListener("click", (event) => {
  if (event.target.matches("input.select-on-focus")) event.target.select();
  if (event.target.matches("[data-print]")) window.print();
});

// The dashboard stops polling while the person has ticked clients, so the ticks are not lost.
document.addEventListener("htmx:beforeRequest", (event) => {
  const pause = event.detail.elt.dataset && event.detail.elt.dataset.pauseWhileChecked;
  if (pause && document.querySelector(pause)) event.preventDefault();
});
