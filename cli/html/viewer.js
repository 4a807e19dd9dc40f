/* mhpcheck trace viewer: draws the story embedded in #trace-data. No network, no libraries. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var steps = data.steps;
  var last = steps.length - 1;
  var current = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") { node.textContent = attrs[k]; }
        else if (k === "cls") { node.className = attrs[k]; }
        else { node.setAttribute(k, attrs[k]); }
      });
    }
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function byId(id) { return document.getElementById(id); }

  function header() {
    byId("title").textContent = data.title;
    byId("subtitle").textContent = data.what + " " + data.property + " (" + data.propertyKind +
      "), " + data.length + (data.length === 1 ? " step" : " steps");
    var verdict = byId("verdict");
    if (data.kind === "witness") { verdict.className = "witness"; }
    byId("verdict-head").textContent = data.ending.headline;
    byId("property-doc").textContent = data.propertyDoc;
    byId("command").textContent = data.command;
    byId("version").textContent = data.version;
    var ending = byId("ending");
    data.ending.formula.forEach(function (f) {
      ending.appendChild(el("div", {cls: "row"}, [el("span", {cls: "key", text: "where"}),
        el("code", {text: f})]));
    });
    if (data.ending.values.length) {
      var row = el("div", {cls: "row"}, [el("span", {cls: "key", text: "because"})]);
      data.ending.values.forEach(function (nv, i) {
        if (i) { row.appendChild(document.createTextNode(", ")); }
        row.appendChild(el("code", {text: nv[0] + " = "}));
        row.appendChild(el("code", {cls: "val", text: nv[1]}));
      });
      ending.appendChild(row);
    }
    data.ending.notes.forEach(function (n) {
      ending.appendChild(el("div", {cls: "row"}, [el("span", {cls: "key", text: "note"}), n]));
    });
  }

  function timeline() {
    var list = byId("steps");
    steps.forEach(function (s) {
      var cls = [];
      if (s.inLoop) { cls.push("in-loop"); }
      if (s.loopStart) { cls.push("loop-start"); }
      if (s.n === last) { cls.push("final"); }
      var li = el("li", {cls: cls.join(" "), "data-step": String(s.n), title: s.cites || s.label},
        [el("span", {cls: "num", text: String(s.n)}), el("span", {cls: "lbl", text: s.label})]);
      li.addEventListener("click", function () { go(s.n); });
      list.appendChild(li);
    });
  }

  function legend() {
    var box = byId("legend");
    data.legend.forEach(function (g) {
      box.appendChild(el("span", {title: g.doc || g.name}, [
        el("span", {cls: "sw col-" + g.colour, text: g.letter}), g.name]));
    });
  }

  function drawMap(s) {
    var panel = byId("map-panel");
    if (!data.legend.length) { panel.style.display = "none"; return; }
    byId("map-title").textContent = data.mapTitle + " after step " + s.n;
    var colours = {};
    data.legend.forEach(function (g) { colours[g.letter] = g; });
    var table = el("table");
    s.rows.forEach(function (r) {
      var tr = el("tr", null, [el("th", {text: r.label})]);
      var ends = {}, total = 0;
      r.groups.slice(0, -1).forEach(function (size) { total += size; ends[total] = true; });
      r.cells.forEach(function (c, i) {
        var g = colours[c.l] || {colour: "default", name: "?"};
        if (ends[i]) { tr.appendChild(el("td", {cls: "gap"})); }
        var cls = "cell col-" + g.colour + (c.c ? " changed" : "");
        var tip = (c.e ? c.e + ": " : "") + g.name + (c.n ? " (" + c.n + ")" : "");
        tr.appendChild(el("td", {cls: cls, title: tip, text: c.l}));
      });
      tr.appendChild(el("td", {cls: "note" + (r.noteChanged ? " changed" : ""), text: r.note}));
      table.appendChild(tr);
    });
    var box = byId("map");
    clear(box);
    box.appendChild(table);
  }

  function drawDiff(s) {
    var box = byId("diff");
    clear(box);
    if (s.n === 0) {
      box.appendChild(el("p", {cls: "none", text: "The initial state (see the whole state below)."}));
      return;
    }
    if (!s.diff.length) {
      box.appendChild(el("p", {cls: "none", text: "Nothing changed."}));
      return;
    }
    var table = el("table");
    s.diff.forEach(function (d) {
      var cell = el("td");
      d.changes.forEach(function (c, i) {
        if (i) { cell.appendChild(document.createTextNode(", ")); }
        if (c[0]) { cell.appendChild(document.createTextNode(c[0] + " ")); }
        cell.appendChild(el("span", {cls: "old", text: c[1]}));
        cell.appendChild(el("span", {cls: "arrow", text: "\u2192"}));
        cell.appendChild(el("span", {cls: "new", text: c[2]}));
      });
      table.appendChild(el("tr", null, [el("td", {cls: "entity", text: d.entity}), cell]));
    });
    box.appendChild(table);
  }

  function drawState(s) {
    var box = byId("state");
    clear(box);
    var changed = {};
    s.changed.forEach(function (e) { changed[e] = true; });
    var table = el("table");
    s.state.forEach(function (es) {
      var cell = el("td");
      es.values.forEach(function (kv) {
        cell.appendChild(el("span", {cls: "field"}, [el("span", {cls: "k", text: kv[0] ? kv[0] + " " : ""}),
          kv[1]]));
      });
      table.appendChild(el("tr", {cls: changed[es.entity] ? "changed" : ""},
        [el("td", {cls: "entity", text: es.entity}), cell]));
    });
    box.appendChild(table);
  }

  function go(n) {
    current = Math.max(0, Math.min(last, n));
    var s = steps[current];
    document.body.setAttribute("data-step", String(current));
    byId("position").textContent = "step " + current + " of " + last;
    byId("step-label").textContent = s.n + ". " + s.label;
    var loop = "";
    if (s.loopStart) { loop = "The loop starts here: from this state on, the run repeats."; }
    if (current === last && data.loopClosing) {
      loop = (loop ? loop + " " : "") + "Then: " + data.loopClosing + ".";
    }
    byId("loop-note").textContent = loop;
    var cites = byId("cites");
    clear(cites);
    if (s.cites) {
      cites.appendChild(el("span", {cls: "tag", text: "models "}));
      cites.appendChild(el("code", {text: s.cites}));
    }
    byId("doc").textContent = s.doc;
    drawMap(s);
    drawDiff(s);
    drawState(s);
    var items = byId("steps").children;
    for (var i = 0; i < items.length; i++) {
      items[i].classList.toggle("current", i === current);
    }
    if (items[current] && items[current].scrollIntoView) {
      items[current].scrollIntoView({block: "nearest"});
    }
    if (window.history && window.history.replaceState) {
      try { window.history.replaceState(null, "", "#step-" + current); } catch (e) { /* file:// */ }
    }
    byId("first").disabled = byId("prev").disabled = current === 0;
    byId("last").disabled = byId("next").disabled = current === last;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var moves = {ArrowRight: current + 1, ArrowDown: current + 1, ArrowLeft: current - 1,
                 ArrowUp: current - 1, Home: 0, End: last};
    if (Object.prototype.hasOwnProperty.call(moves, ev.key)) {
      ev.preventDefault();
      go(moves[ev.key]);
    }
  });
  byId("first").addEventListener("click", function () { go(0); });
  byId("prev").addEventListener("click", function () { go(current - 1); });
  byId("next").addEventListener("click", function () { go(current + 1); });
  byId("last").addEventListener("click", function () { go(last); });

  header();
  timeline();
  legend();
  var start = parseInt((window.location.hash || "").replace("#step-", ""), 10);
  go(isNaN(start) ? 0 : start);
})();
