/* vru report: draws the charts (Vega-Lite) and maps (Leaflet) from the figures embedded in
   the page. No network access: every library and all the data are in this file. */
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("vru-figures").textContent);
  var geometry = JSON.parse(document.getElementById("vru-geometry").textContent);
  var SEQUENTIAL = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
  var NOT_SHOWN = "#d9d9d9";
  var CATEGORY = {
    "hot spot": "#d4351c", "cold spot": "#1d70b8", "no clear pattern": "#f3f2f1",
    "new hot spot": "#f47738", "consecutive hot spot": "#f4a261",
    "intensifying hot spot": "#942514", "persistent hot spot": "#d4351c",
    "diminishing hot spot": "#f0a59a", "sporadic hot spot": "#ffdd00",
    "oscillating hot spot": "#b58840", "historical hot spot": "#c9a297",
    "new cold spot": "#5694ca", "consecutive cold spot": "#2b8cc4",
    "intensifying cold spot": "#003078", "persistent cold spot": "#1d70b8",
    "diminishing cold spot": "#9dc2e3", "sporadic cold spot": "#85994b",
    "oscillating cold spot": "#4c2c92", "historical cold spot": "#b3c3d6",
    "no pattern detected": "#f3f2f1"
  };

  function rowsOf(name) {
    var t = figures.tables[name];
    return t ? t.rows : [];
  }

  function drawCharts() {
    var nodes = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (el) {
      var chart = figures.charts[el.getAttribute("data-chart")];
      var spec = JSON.parse(JSON.stringify(chart.spec));
      spec.datasets = {};
      spec.datasets[chart.table] = rowsOf(chart.table);
      spec.config = { aria: false, font: "Arial, sans-serif", axis: { labelFontSize: 12,
        titleFontSize: 13 }, view: { stroke: null } };
      window.vegaEmbed(el, spec, { actions: false, renderer: "svg" })
        .then(function (result) {
          var svg = el.querySelector("svg");
          if (svg) {
            // the chart is one image with one text alternative: its parts are not read out
            Array.prototype.forEach.call(svg.querySelectorAll("[role]"), function (n) {
              n.removeAttribute("role");
              n.removeAttribute("aria-roledescription");
              n.removeAttribute("aria-label");
            });
            svg.setAttribute("role", "img");
            svg.setAttribute("aria-label", chart.description);
          }
          return result;
        })
        .catch(function (err) { console.error("chart " + chart.title + ": " + err); });
    });
  }

  function quantileBreaks(values) {
    var v = values.slice().sort(function (a, b) { return a - b; });
    var breaks = [];
    for (var i = 1; i < SEQUENTIAL.length; i++) {
      breaks.push(v[Math.min(v.length - 1, Math.floor(i * v.length / SEQUENTIAL.length))]);
    }
    return breaks;
  }

  function fmt(x) {
    return Number(x).toLocaleString("en-GB", { maximumFractionDigits: 0 });
  }

  function drawMaps() {
    var nodes = document.querySelectorAll("[data-map]");
    Array.prototype.forEach.call(nodes, function (el) {
      var spec = figures.maps[el.getAttribute("data-map")];
      var byCode = {};
      rowsOf(spec.table).forEach(function (r) { byCode[r.area_code] = r; });
      var values = [];
      Object.keys(byCode).forEach(function (k) {
        var x = byCode[k][spec.value];
        if (typeof x === "number" && isFinite(x)) { values.push(x); }
      });
      var breaks = spec.kind === "sequential" ? quantileBreaks(values) : [];
      function colour(row) {
        var x = row ? row[spec.value] : null;
        if (spec.kind === "categorical") {
          return (x && CATEGORY[x]) || NOT_SHOWN;
        }
        if (typeof x !== "number" || !isFinite(x)) { return NOT_SHOWN; }
        var i = 0;
        while (i < breaks.length && x > breaks[i]) { i++; }
        return SEQUENTIAL[i];
      }
      var map = L.map(el, { preferCanvas: true, zoomSnap: 0.25, scrollWheelZoom: false,
        attributionControl: true });
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution(
        "Contains National Statistics and OS data \u00a9 Crown copyright and database right");
      var layer = L.geoJSON(geometry[spec.geometry], {
        style: function (f) {
          return { fillColor: colour(byCode[f.properties.area_code]), fillOpacity: 0.9,
            color: "#ffffff", weight: spec.geography === "lsoa" ? 0.2 : 0.6 };
        },
        onEachFeature: function (f, l) {
          var row = byCode[f.properties.area_code];
          var x = row ? row[spec.value] : null;
          var shown = (x === null || x === undefined) ? "not shown" :
            (typeof x === "number" ? fmt(x) : String(x));
          l.bindTooltip(f.properties.area_name + ": " + shown, { sticky: true });
        }
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds); } else { map.setView([52.5, -1.5], 6); }
      var legend = document.getElementById(el.id + "-legend");
      if (legend) {
        var items = [];
        if (spec.kind === "sequential") {
          var lo = values.length ? Math.min.apply(null, values) : 0;
          var edges = [lo].concat(breaks);
          SEQUENTIAL.forEach(function (c, i) {
            var upper = i < breaks.length ? breaks[i] :
              (values.length ? Math.max.apply(null, values) : 0);
            items.push([c, fmt(edges[i]) + " to " + fmt(upper)]);
          });
        } else {
          spec.categories.forEach(function (c) { items.push([CATEGORY[c] || NOT_SHOWN, c]); });
        }
        items.push([NOT_SHOWN, "not shown or no data"]);
        legend.innerHTML = items.map(function (it) {
          return "<span><span class=\"swatch\" style=\"background:" + it[0] +
            "\"></span>" + it[1] + "</span>";
        }).join("");
      }
    });
  }

  drawCharts();
  drawMaps();
})();
