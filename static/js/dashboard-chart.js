// Draws the indicator page's time series with 95% bands. The figures come from a JSON data
// block (<script type="application/json" id="dashboard-chart-data">), which the CSP allows
// because it is never executed; the table below the chart shows the same figures.
(function () {
  'use strict'
  var source = document.getElementById('dashboard-chart-data')
  var canvas = document.getElementById('dashboard-chart')
  if (!source || !canvas || typeof window.Chart === 'undefined') return
  var data = JSON.parse(source.textContent)
  // Colour-blind-safe pairs: NHS blue for London, orange for the chosen area.
  var colours = [
    { line: '#005eb8', band: 'rgba(0, 94, 184, 0.15)' },
    { line: '#a6530a', band: 'rgba(166, 83, 10, 0.2)' }
  ]
  var dashes = [[], [6, 4]]
  var datasets = []
  data.series.forEach(function (series, index) {
    var colour = colours[index % colours.length]
    var hasBand = series.lower.some(function (v) { return v !== null })
    if (hasBand) {
      datasets.push({
        label: series.name + ' lower 95% limit',
        data: series.lower,
        borderWidth: 0,
        pointRadius: 0,
        fill: false,
        spanGaps: false,
        legendHidden: true
      })
      datasets.push({
        label: series.name + ' 95% limits',
        data: series.upper,
        borderWidth: 0,
        pointRadius: 0,
        backgroundColor: colour.band,
        fill: '-1',
        spanGaps: false,
        legendHidden: true
      })
    }
    datasets.push({
      label: series.name,
      data: series.value,
      borderColor: colour.line,
      backgroundColor: colour.line,
      borderDash: dashes[index % dashes.length],
      pointRadius: 3,
      fill: false,
      spanGaps: false
    })
  })
  var percent = data.measure === 'proportion'
  new window.Chart(canvas, {
    type: 'line',
    data: { labels: data.labels, datasets: datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        y: {
          title: { display: !!data.unit, text: data.unit },
          ticks: { callback: function (v) { return percent ? v + '%' : v } }
        }
      },
      plugins: {
        legend: {
          labels: { filter: function (item, chart) { return !chart.datasets[item.datasetIndex].legendHidden } }
        },
        tooltip: {
          filter: function (item) { return !item.dataset.legendHidden }
        }
      }
    }
  })
})()
