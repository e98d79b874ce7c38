(function () {
  "use strict";
  var tip = document.createElement("div");
  tip.className = "tip";
  document.body.appendChild(tip);
  function nearest(px, x) {
    var lo = 0, hi = px.length - 1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (px[mid] < x) { lo = mid; } else { hi = mid; }
    }
    return Math.abs(px[lo] - x) <= Math.abs(px[hi] - x) ? lo : hi;
  }
  var charts = document.querySelectorAll("svg.chart-svg");
  Array.prototype.forEach.call(charts, function (svg) {
    var paths = Array.prototype.map.call(svg.querySelectorAll("path.series"), function (p) {
      return {
        el: p,
        name: p.getAttribute("data-name"),
        px: (p.getAttribute("data-px") || "").split(",").map(Number),
        v: (p.getAttribute("data-v") || "").split("|")
      };
    });
    var guide = document.createElementNS("http://www.w3.org/2000/svg", "line");
    guide.setAttribute("class", "guide");
    guide.style.display = "none";
    svg.appendChild(guide);
    var frame = svg.querySelector("rect.frame");
    svg.addEventListener("mousemove", function (ev) {
      var ctm = svg.getScreenCTM();
      if (!ctm || !frame) { return; }
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX; pt.y = ev.clientY;
      var loc = pt.matrixTransform(ctm.inverse());
      var lines = [], gx = null;
      paths.forEach(function (p) {
        if (p.el.classList.contains("off") || getComputedStyle(p.el).display === "none" || !p.px.length) { return; }
        var i = nearest(p.px, loc.x);
        if (gx === null) { gx = p.px[i]; }
        lines.push(p.v[i] || "");
      });
      if (!lines.length) { return; }
      guide.setAttribute("x1", gx); guide.setAttribute("x2", gx);
      guide.setAttribute("y1", frame.getAttribute("y"));
      guide.setAttribute("y2", Number(frame.getAttribute("y")) + Number(frame.getAttribute("height")));
      guide.style.display = "";
      tip.textContent = "";
      lines.forEach(function (l) { var d = document.createElement("div"); d.textContent = l; tip.appendChild(d); });
      tip.style.display = "block";
      tip.style.left = (ev.pageX + 14) + "px";
      tip.style.top = (ev.pageY + 10) + "px";
    });
    svg.addEventListener("mouseleave", function () { tip.style.display = "none"; guide.style.display = "none"; });
    var fig = svg.parentNode;
    Array.prototype.forEach.call(fig.querySelectorAll("ul.legend li[data-i]"), function (li) {
      li.addEventListener("click", function () {
        var p = svg.querySelector('path.series[data-i="' + li.getAttribute("data-i") + '"]');
        if (p) { p.classList.toggle("off"); li.classList.toggle("off"); }
      });
    });
    var drawn = 0, bands = 0;
    paths.forEach(function (p) {
      if (getComputedStyle(p.el).display !== "none" && p.el.getBBox().width > 0) { drawn++; }
    });
    Array.prototype.forEach.call(svg.querySelectorAll("rect.band"), function (b) {
      if (b.getBBox().width > 0) { bands++; }
    });
    svg.setAttribute("data-rendered-series", String(drawn));
    svg.setAttribute("data-rendered-bands", String(bands));
    svg.setAttribute("data-rendered-names", paths.filter(function (p) {
      return getComputedStyle(p.el).display !== "none";
    }).map(function (p) { return p.name; }).join(","));
  });
  document.body.setAttribute("data-report-ready", String(charts.length));
})();
