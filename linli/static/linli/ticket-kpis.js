/* The KPI page's charts (Apache ECharts, served from /static/vendor/echarts/): the rows of the KPI table drawn as
   bars against their targets, the median times, and the trend of the period. The numbers come from the page's
   json_script block "kpi-chart-data" (the same rows as the table); the labels are already in the page's
   language. Charts follow their container's width (phones included) and redraw on resize. */
(function () {
  "use strict";

  var BLUE = "#1f5fbf";
  var RED = "#c8102e";
  var GREEN = "#1b7f4b";
  var NAVY = "#0f2f5c";
  var MUTED = "#667085";
  var charts = [];

  function percent(value) {
    return value === null || value === undefined ? "—" : value.toFixed(1) + "%";
  }

  function number(value) {
    return value === null || value === undefined ? "—" : String(value);
  }

  // As the table prints a median: one decimal.
  function decimal(value) {
    return value === null || value === undefined ? "—" : value.toFixed(1);
  }

  // Horizontal bars: one row per group, as tall as the rows need so that names stay readable on a phone.
  function barHeight(rows) {
    return Math.max(150, 56 + rows * 34);
  }

  function categoryAxis(groups) {
    return {
      type: "category", data: groups, inverse: true,
      axisLabel: { width: 96, overflow: "truncate", color: "#1f2937" },
      axisTick: { show: false }
    };
  }

  function rateOption(data, rate) {
    var target = rate.target;
    var series = {
      type: "bar", name: rate.label, data: rate.values, barMaxWidth: 22,
      itemStyle: {
        color: function (p) {
          return target !== null && p.value !== null && p.value !== undefined && p.value < target ? RED : BLUE;
        }
      },
      label: { show: true, position: "right", formatter: function (p) { return percent(p.value); } }
    };
    if (target !== null) {
      series.markLine = {
        symbol: "none", silent: true, lineStyle: { color: GREEN, type: "dashed", width: 2 },
        label: { formatter: data.text.target + " " + percent(target), color: GREEN, position: "start" },
        data: [{ xAxis: target }]
      };
    }
    return {
      animation: false,
      grid: { left: 8, right: 56, top: 26, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: percent },
      xAxis: { type: "value", min: 0, max: 100, interval: 25, axisLabel: { formatter: "{value}%", color: MUTED } },
      yAxis: categoryAxis(data.groups),
      series: [series]
    };
  }

  function medianOption(data, median) {
    return {
      animation: false,
      grid: { left: 8, right: 48, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: decimal },
      xAxis: { type: "value", min: 0, axisLabel: { color: MUTED } },
      yAxis: categoryAxis(data.groups),
      series: [{
        type: "bar", name: median.label, data: median.values, barMaxWidth: 22, itemStyle: { color: NAVY },
        label: { show: true, position: "right", formatter: function (p) { return decimal(p.value); } }
      }]
    };
  }

  function trendOption(data) {
    var trend = data.trend;
    var onTime = {
      type: "line", name: data.text.on_time_rate, yAxisIndex: 1, data: trend.on_time_rate, connectNulls: true,
      symbolSize: 7, itemStyle: { color: RED }, lineStyle: { width: 2 }
    };
    if (trend.target !== null) {
      onTime.markLine = {
        symbol: "none", silent: true, lineStyle: { color: GREEN, type: "dashed", width: 2 },
        label: { formatter: data.text.target + " " + percent(trend.target), color: GREEN, position: "insideEndTop" },
        data: [{ yAxis: trend.target }]
      };
    }
    return {
      animation: false,
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return v === null || v === undefined ? "—" : String(v); }
      },
      xAxis: { type: "category", data: trend.labels, axisLabel: { hideOverlap: true, color: MUTED } },
      yAxis: [
        { type: "value", minInterval: 1, axisLabel: { color: MUTED } },
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%", color: MUTED }, splitLine: { show: false } }
      ],
      series: [
        { type: "bar", name: data.text.tickets, data: trend.tickets, itemStyle: { color: "#9db8e6" }, barMaxWidth: 28 },
        onTime,
        {
          type: "line", name: data.text.satisfaction_rate, yAxisIndex: 1, data: trend.satisfaction_rate,
          connectNulls: true, symbolSize: 6, itemStyle: { color: GREEN }, lineStyle: { width: 2, type: "dotted" }
        }
      ]
    };
  }

  function find(list, name) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].name === name) return list[i];
    }
    return null;
  }

  function draw(element, data) {
    var kind = element.dataset.kpiChart;
    var option = null;
    if (kind === "trend" && data.trend) {
      element.style.height = "300px";
      option = trendOption(data);
    } else if (kind === "rate") {
      element.style.height = barHeight(data.groups.length) + "px";
      option = rateOption(data, find(data.rates, element.dataset.name));
    } else if (kind === "median") {
      element.style.height = barHeight(data.groups.length) + "px";
      option = medianOption(data, find(data.medians, element.dataset.name));
    }
    if (!option) return;
    var chart = echarts.init(element, null, { renderer: "canvas", locale: data.lang === "en" ? "EN" : "ZH" });
    chart.setOption(option);
    charts.push(chart);
  }

  function resizeAll() {
    charts.forEach(function (chart) { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("kpi-chart-data");
    if (!holder || typeof echarts === "undefined") return;
    var data = JSON.parse(holder.textContent);
    document.querySelectorAll("[data-kpi-chart]").forEach(function (element) { draw(element, data); });
    window.addEventListener("resize", resizeAll);
    if (typeof ResizeObserver !== "undefined") {
      // The navigation folding away on a phone changes a chart's width without a window resize.
      var observer = new ResizeObserver(function (entries) {
        entries.forEach(function (entry) {
          var chart = echarts.getInstanceByDom(entry.target);
          if (chart) chart.resize();
        });
      });
      document.querySelectorAll("[data-kpi-chart]").forEach(function (element) { observer.observe(element); });
    }
  });
})();
