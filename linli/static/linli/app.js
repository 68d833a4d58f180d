/* Linli staff console: the collapsible navigation, the place tree toggles and the place map. */
(function () {
  "use strict";

  function setupNavToggle() {
    var toggle = document.querySelector("[data-nav-toggle]");
    if (!toggle) return;
    toggle.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // A tree node loads its children once (htmx, "click once"); afterwards the button only shows or hides them.
  function onTreeToggle(event) {
    var button = event.target.closest("[data-tree-toggle]");
    if (!button) return;
    var list = button.parentElement.querySelector(":scope > ul");
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    list.hidden = !open;
  }

  function drawPlaceMap(element) {
    if (typeof L === "undefined") return;
    var data = JSON.parse(document.getElementById(element.dataset.map).textContent);
    var map = L.map(element, { attributionControl: false, zoomSnap: 0.5 });
    if (data.tiles) {
      L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map);
    }
    var layers = [];
    if (data.boundary) {
      layers.push(L.geoJSON(data.boundary, { style: { color: "#1f5fbf", weight: 2, fillOpacity: 0.12 } }));
    }
    data.children.forEach(function (child) {
      layers.push(L.circleMarker([child.lat, child.lng], { radius: 5, color: "#0f2f5c", weight: 1, fillOpacity: 0.7 })
        .bindTooltip(child.name));
    });
    if (data.point) {
      layers.push(L.circleMarker([data.point[1], data.point[0]], { radius: 8, color: "#c8102e", weight: 2, fillOpacity: 0.8 })
        .bindTooltip(data.name));
    }
    var group = L.featureGroup(layers).addTo(map);
    var bounds = group.getBounds();
    if (bounds.isValid() && !bounds.getNorthEast().equals(bounds.getSouthWest())) {
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 18 });
    } else {
      map.setView(bounds.getCenter(), 16);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupNavToggle();
    document.addEventListener("click", onTreeToggle);
    document.querySelectorAll("[data-map]").forEach(drawPlaceMap);
  });
})();
