/* The alert board: a Leaflet map of the listed alerts, kept in step with the list that htmx refreshes in place;
   alerts that appear while the page is open are highlighted, a new critical one is announced (and, when the
   user asked for it, beeps). */
(function () {
  "use strict";

  var COLORS = { critical: "#c8102e", major: "#e06b00", minor: "#b8930b", warning: "#1f5fbf" };
  var SOUND_KEY = "linli.alerts.sound";
  var map = null;
  var layer = null;
  var known = null; // alert ids shown so far (null until the first draw)
  var polled = false; // whether the swap under way came from the board's own polling
  var audio = null;

  function readJSON(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function setupMap() {
    var element = document.querySelector("[data-board-map]");
    if (!element || typeof L === "undefined") return;
    map = L.map(element, { attributionControl: false, zoomSnap: 0.5 });
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, { maxZoom: 19 }).addTo(map);
    }
    layer = L.featureGroup().addTo(map);
    var center = readJSON("alert-map-center");
    map.setView(center || [30.6, 114.3], center ? 15 : 4);
  }

  function drawMarkers(fresh, refit) {
    if (!map) return;
    var data = readJSON("alert-map-data");
    if (!data) return;
    layer.clearLayers();
    data.markers.forEach(function (m) {
      var marker = L.circleMarker([m.lat, m.lng], {
        radius: m.severity === "critical" ? 10 : 8, color: "#ffffff", weight: 2,
        fillColor: COLORS[m.severity] || "#667085", fillOpacity: m.status === "open" ? 0.95 : 0.5,
        className: "alert-marker alert-marker-" + m.id + " sev-" + m.severity + (fresh[m.id] ? " is-new" : "")
      });
      marker.bindTooltip(m.title);
      marker.on("click", function () { window.location.href = m.url; });
      layer.addLayer(marker);
    });
    map.getContainer().dataset.markers = String(data.markers.length);
    var bounds = layer.getBounds();
    if (!refit || !bounds.isValid()) return;
    if (bounds.getNorthEast().equals(bounds.getSouthWest())) {
      map.setView(bounds.getCenter(), 17, { animate: false });
    } else {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 18, animate: false });
    }
  }

  function beep() {
    var toggle = document.getElementById("board-sound");
    if (!toggle || !toggle.checked) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.3].forEach(function (offset) {
        var oscillator = audio.createOscillator();
        var gain = audio.createGain();
        oscillator.frequency.value = 880;
        gain.gain.value = 0.15;
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start(audio.currentTime + offset);
        oscillator.stop(audio.currentTime + offset + 0.18);
      });
    } catch (error) {
      /* no audio on this device: the banner is enough */
    }
  }

  function announce(titles) {
    var news = document.getElementById("board-news");
    if (!news || !titles.length) return;
    news.textContent = news.dataset.label + "：" + titles.join("、");
    news.hidden = false;
    beep();
  }

  // Ids that were not on the board before a refresh by polling are new: their rows and markers are marked.
  function update(refit) {
    var data = readJSON("alert-map-data") || { markers: [] };
    var rows = Array.prototype.slice.call(document.querySelectorAll("#alert-board tr[data-alert]"));
    var ids = rows.map(function (row) { return row.dataset.alert; })
      .concat(data.markers.map(function (m) { return String(m.id); }));
    var fresh = {};
    var critical = [];
    if (known !== null && polled) {
      ids.forEach(function (id) { if (!known[id]) fresh[id] = true; });
      rows.forEach(function (row) {
        if (!fresh[row.dataset.alert]) return;
        row.classList.add("is-new");
        if (row.dataset.severity === "critical") {
          critical.push(row.querySelector(".alert-title").textContent.trim());
        }
      });
    }
    known = known || {};
    ids.forEach(function (id) { known[id] = true; });
    drawMarkers(fresh, refit);
    announce(critical);
  }

  function setupSound() {
    var toggle = document.getElementById("board-sound");
    if (!toggle) return;
    try { toggle.checked = window.localStorage.getItem(SOUND_KEY) === "1"; } catch (error) { /* private mode */ }
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(SOUND_KEY, toggle.checked ? "1" : "0"); } catch (error) { /* ignore */ }
      if (toggle.checked) beep(); // a user gesture lets the browser start audio
    });
  }

  function setLive(ok) {
    var live = document.getElementById("board-live");
    if (!live) return;
    live.textContent = ok ? live.dataset.ok : live.dataset.lost;
    live.classList.toggle("lost", !ok);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("alert-board")) return;
    setupMap();
    setupSound();
    update(true);
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var source = event.detail.elt;
      if (source && source.id === "board-poll") polled = true;
      else if (source && source.closest && source.closest("#board-filters")) polled = false;
    });
    document.body.addEventListener("htmx:afterRequest", function (event) {
      var source = event.detail.elt;
      if (source && source.id === "board-poll") setLive(event.detail.successful);
    });
    document.body.addEventListener("htmx:load", function (event) {
      if (event.detail.elt && event.detail.elt.id === "alert-board") {
        update(!polled);
        polled = false;
      }
    });
  });
})();
