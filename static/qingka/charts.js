/* Draws each <canvas data-chart="ID"> from the JSON that json_script put in the element ID
   (apps/charts/data.py Chart.as_json), with Chart.js from static/vendor/chartjs. The same
   numbers are in the table beside each chart. No inline script: the page's CSP allows none. */
(function () {
  "use strict";
  var COLORS = ["#0b6e4f", "#b7791f", "#2b6cb0", "#6b46c1", "#c53030", "#4a5568", "#2f855a", "#d53f8c"];

  // Vertical dashed lines at some labels (a deadline), in the colour of the series they belong to.
  var markers = {
    id: "qingkaMarkers",
    afterDatasetsDraw: function (chart, args, options) {
      var area = chart.chartArea;
      var ctx = chart.ctx;
      (options.list || []).forEach(function (marker, i) {
        var x = chart.scales.x.getPixelForValue(marker.at);
        ctx.save();
        ctx.strokeStyle = ctx.fillStyle = COLORS[i % COLORS.length];
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x, area.top);
        ctx.lineTo(x, area.bottom);
        ctx.stroke();
        ctx.font = "12px sans-serif";
        var width = ctx.measureText(marker.label).width;
        var left = x + 4 + width > area.right ? x - 4 - width : x + 4; // keep the label inside the chart
        ctx.fillText(marker.label, left, area.top + 14 + i * 16);
        ctx.restore();
      });
    }
  };

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || !window.Chart) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var line = data.kind === "line";
    var datasets = data.series.map(function (series, i) {
      var color = COLORS[i % COLORS.length];
      return {
        label: series.label,
        data: series.values,
        borderColor: color,
        backgroundColor: line ? color : color + "cc",
        borderDash: line && i > 0 ? [4, 3] : [],
        pointRadius: line ? 2 : 0,
        spanGaps: false
      };
    });
    var indexAxis = data.horizontal ? "y" : "x";
    var valueAxis = data.horizontal ? "x" : "y";
    var scales = {};
    scales[indexAxis] = { stacked: data.stacked };
    scales[valueAxis] = { stacked: data.stacked, beginAtZero: true, ticks: { precision: 0 } };
    new window.Chart(canvas, {
      type: data.kind,
      data: { labels: data.labels, datasets: datasets },
      options: {
        indexAxis: indexAxis,
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: { qingkaMarkers: { list: data.markers } }
      },
      plugins: [markers]
    });
    canvas.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
