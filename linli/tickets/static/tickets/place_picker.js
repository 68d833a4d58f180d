/* The place picker of a resident's new ticket: markers of their home, the public spots and the facilities of their
   estate, drawn by Leaflet from our own coordinates and GeoJSON (a base layer only when LINLI_MAP_TILES is set).
   A click on a marker or an area checks the same radio button as the list below it, which works without this. */
(function () {
  "use strict";

  function setup(element) {
    if (typeof L === "undefined") return;
    var data = JSON.parse(document.getElementById(element.dataset.placePicker).textContent);
    var form = element.closest("form");
    var facilityInput = form.querySelector("input[name=facility_id]");
    var picked = document.getElementById("place-picked");
    // no zoom on a double tap: two quick taps on two markers must choose twice, not zoom
    var map = L.map(element, { attributionControl: false, zoomSnap: 0.5, doubleClickZoom: false });
    if (data.tiles) {
      L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map);
    }
    var markers = {};
    var layers = [];

    function radio(placeId) {
      return form.querySelector("input[name=place_id][value='" + placeId + "']");
    }

    function highlight(key) {
      Object.keys(markers).forEach(function (k) {
        var el = markers[k].getElement();
        if (el) el.classList.toggle("selected", k === key);
      });
    }

    function choose(spot) {
      var input = radio(spot.place);
      if (!input) return;
      input.checked = true;
      var details = input.closest("details");
      if (details) details.open = true;
      if (facilityInput) facilityInput.value = spot.facility || "";
      picked.textContent = picked.dataset.prefix + spot.label;
      highlight(spot.key);
    }

    data.areas.forEach(function (area) {
      var style = area.kind === "estate"
        ? { color: "#1f5fbf", weight: 2, fillOpacity: 0.08 }
        : { color: "#0f2f5c", weight: 1.5, fillOpacity: 0.25 };
      var spot = { key: "place-" + area.place, place: area.place, facility: null, label: area.name };
      layers.push(L.geoJSON(area.boundary, { style: style }).bindTooltip(area.name).on("click", function () { choose(spot); }));
    });
    data.spots.forEach(function (spot) {
      var label = document.createElement("span");
      label.className = "spot-label";
      label.textContent = spot.name;
      var icon = L.divIcon({ className: "spot-marker spot-" + spot.kind, html: label, iconSize: null });
      var marker = L.marker([spot.lat, spot.lng], {
        icon: icon, title: spot.label, alt: spot.label, keyboard: true,
        zIndexOffset: spot.kind === "home" ? 500 : 0
      }).on("click", function () { choose(spot); });
      markers[spot.key] = marker;
      layers.push(marker);
    });
    var group = L.featureGroup(layers).addTo(map);
    var bounds = group.getBounds();
    if (bounds.isValid() && !bounds.getNorthEast().equals(bounds.getSouthWest())) {
      map.fitBounds(bounds, { padding: [40, 40], maxZoom: 18 });
    } else if (bounds.isValid()) {
      map.setView(bounds.getCenter(), 17);
    }

    // The list chooses too: the marker of the checked place lights up, a facility chosen before is dropped.
    form.querySelectorAll("input[name=place_id]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (facilityInput) facilityInput.value = "";
        picked.textContent = picked.dataset.prefix + input.dataset.label;
        highlight("place-" + input.value);
      });
    });
    var checked = form.querySelector("input[name=place_id]:checked");
    var facility = facilityInput && facilityInput.value;
    if (facility && markers["facility-" + facility]) {
      var spot = data.spots.filter(function (s) { return s.key === "facility-" + facility; })[0];
      picked.textContent = picked.dataset.prefix + spot.label;
      highlight(spot.key);
    } else if (checked) {
      picked.textContent = picked.dataset.prefix + checked.dataset.label;
      highlight("place-" + checked.value);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-place-picker]").forEach(setup);
  });
})();
