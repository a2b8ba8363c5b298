// Move focus to the error summary after a form comes back with errors, so screen
// readers announce it and keyboard users start there (WCAG 3.3.1). Without JavaScript
// the summary is still the first thing in the form.
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
