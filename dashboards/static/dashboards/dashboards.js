/* Draws every dashboard chart from the JSON next to it, with the page's locale for numbers and dates.
   Wagtail's admin puts page scripts before the content: this one is deferred, and waits for the
   document if it is ever loaded without ``defer``. */
(function () {
  "use strict";
  var script = document.getElementById("dashboards-script");
  var locale = (script && script.dataset.locale) || document.documentElement.lang || "en";
  var palette = ["#2563eb", "#9ca3af", "#16a34a", "#d97706", "#9333ea", "#b91c1c"];

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var funnel = spec.type === "funnel";
    var percent = spec.datasets.length && spec.datasets[0].kind === "percent";
    new Chart(canvas, {
      type: funnel ? "bar" : spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, index) {
          return {
            label: set.label,
            data: set.data,
            borderColor: palette[index % palette.length],
            backgroundColor: palette[index % palette.length],
            tension: 0.2
          };
        })
      },
      options: {
        locale: locale,
        maintainAspectRatio: false,
        indexAxis: funnel ? "y" : "x",
        animation: false,
        scales: funnel ? { x: { beginAtZero: true } } : { y: { beginAtZero: true, ticks: percent ? { callback: function (v) { return v + " %"; } } : {} } },
        plugins: { legend: { display: spec.datasets.length > 1 } }
      }
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (!canvas.dataset.drawn) {
        canvas.dataset.drawn = "true";
        draw(canvas);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
