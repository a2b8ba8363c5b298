// The "Print" button of the list for the day. Hidden without JavaScript, where the
// browser's own print command does the same.
(function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
