// Move focus to the error summary after a form comes back with errors, so screen
// readers announce it and keyboard users start there (WCAG 3.3.1). Without JavaScript
// the summary is still the first thing in the form.
(function () {
  var summary = document.getElementById("error-summary");
  if (!summary) {
    return;
  }
  summary.focus();
  // A form posted to an address with a fragment (the interest form: #interesse) comes
  // back with that fragment; scrolling to it moves focus to the page once it has loaded.
  // Take it back, unless the visitor has already moved on.
  window.addEventListener("load", function () {
    if (!document.activeElement || document.activeElement === document.body) {
      summary.focus();
    }
  });
})();
