// Show the numbers of the gemeente under the pointer or keyboard focus next to the map.
// Without JavaScript each shape still has its <title> (a tooltip on hover), and the table
// below the map holds the same numbers.
(function () {
  "use strict";
  var label = document.getElementById("map-label");
  var map = document.querySelector(".coverage-map");
  if (!label || !map) {
    return;
  }
  function show(event) {
    var shape = event.target.closest("path[aria-label]");
    if (shape) {
      label.textContent = shape.getAttribute("aria-label");
    }
  }
  map.addEventListener("mouseover", show);
  map.addEventListener("focusin", show);
})();
