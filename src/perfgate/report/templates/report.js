(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  var specs = JSON.parse(document.getElementById("pg-plots").textContent);
  if (!window.Plotly || !specs.length) { return; }
  var base = {
    margin: {l: 70, r: 20, t: 40, b: 40},
    font: {family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12,
           color: "#24292f"},
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    hoverlabel: {namelength: -1},
    legend: {orientation: "h", x: 0, y: -0.14, yanchor: "top"},
    colorway: ["#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#116329",
               "#953800", "#0550ae", "#6e7781"]
  };
  var config = {responsive: true, displaylogo: false,
                modeBarButtons: [["toImage", "zoom2d", "pan2d", "resetScale2d"]]};
  var plotted = [];
  specs.forEach(function (s) {
    var el = document.getElementById(s.id);
    if (!el) { return; }
    var layout = Object.assign({}, base, s.layout);
    ["xaxis", "yaxis"].forEach(function (a) {
      layout[a] = Object.assign({gridcolor: "#eaeef2", automargin: true}, s.layout[a] || {});
    });
    Plotly.newPlot(el, s.data, layout, config);
    plotted.push(el);
  });
  // Paper is narrower than most screens: draw the plots at page width while printing.
  var details = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) {
      d.open = true; details.push(d);
    });
    plotted.forEach(function (el) { Plotly.relayout(el, {width: 680}); });
  });
  window.addEventListener("afterprint", function () {
    details.forEach(function (d) { d.open = false; });
    details = [];
    plotted.forEach(function (el) { Plotly.relayout(el, {width: null, autosize: true}); });
  });
}());
