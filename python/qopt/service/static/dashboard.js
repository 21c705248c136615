// qopt job dashboard: fills the page from /api/jobs and /api/jobs/<id>, polling every second.
// Data goes into the page only as text (textContent), never as HTML.
"use strict";
(function () {
  var token = new URLSearchParams(window.location.search).get("token");
  var POLL_MS = 1000;
  var TERMINAL = {SUCCEEDED: 1, FAILED: 1, CANCELLED: 1};

  function withToken(url) {
    return token ? url + (url.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(token) : url;
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function num(x, digits) {
    if (x === null || x === undefined) return "";
    if (typeof x !== "number") return String(x);
    return Number.isInteger(x) ? String(x) : x.toPrecision(digits || 6);
  }
  function pct(x) { return x === null || x === undefined ? "" : (100 * x).toFixed(2) + "%"; }
  function table(id, headers, rows) {
    var head = el("tr", {}, headers.map(function (h) { return el("th", {}, [h]); }));
    var body = rows.map(function (r) {
      return el("tr", r.attrs || {}, r.cells.map(function (c) { return el("td", {}, [c]); }));
    });
    return el("table", {id: id}, [el("thead", {}, [head]), el("tbody", {}, body)]);
  }
  function replace(id, node) {
    var old = document.getElementById(id);
    if (old) old.parentNode.replaceChild(node, old); else document.getElementById("main").appendChild(node);
  }
  function fail(message) {
    replace("status", el("p", {id: "status", "class": "problem"}, [message]));
  }
  function get(url, then, done) {
    fetch(withToken(url), {cache: "no-store"}).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + ": " + t); });
      return r.json();
    }).then(function (data) {
      var s = document.getElementById("status"); if (s) s.remove();
      var l = document.getElementById("loading"); if (l) l.remove();
      then(data);
    }).catch(function (e) { fail(String(e.message || e)); }).finally(function () { if (done) done(); });
  }

  // ---- /jobs ------------------------------------------------------------------------
  function renderList(data) {
    var rows = data.jobs.map(function (j) {
      var link = el("a", {href: withToken("/jobs/" + j.job_id)}, [j.job_id.slice(0, 12)]);
      return {attrs: {id: "job-" + j.job_id, "data-state": j.state}, cells: [
        link, j.problem_name || "", el("span", {"class": "state " + j.state}, [j.state]),
        j.requested_backend + (j.backend && j.backend !== j.requested_backend ? " \u2192 " + j.backend : ""),
        j.routing_reason || "", num(j.elapsed, 3), num(j.best_objective),
        j.feasible === false ? "infeasible" : (j.feasible ? "yes" : ""), pct(j.gap),
        j.error ? j.error.code + ": " + j.error.message : ""]};
    });
    if (!document.getElementById("title")) replace("title", el("h1", {id: "title"}, ["jobs"]));
    replace("jobs", table("jobs", ["job", "name", "state", "backend (requested \u2192 ran)", "routing reason",
      "elapsed (s)", "best objective", "feasible", "gap", "error"], rows));
    if (!data.jobs.length) replace("empty", el("p", {id: "empty"}, ["no jobs yet"]));
    else { var e = document.getElementById("empty"); if (e) e.remove(); }
  }
  function pollList() { get("/api/jobs", renderList, function () { setTimeout(pollList, POLL_MS); }); }

  // ---- /jobs/<id> -------------------------------------------------------------------
  function renderPlot(job) {
    var branches = {}, order = [], maxT = 0;
    job.trace.forEach(function (p) {
      if (!(p.branch in branches)) { branches[p.branch] = {x: [], y: []}; order.push(p.branch); }
      branches[p.branch].x.push(p.t); branches[p.branch].y.push(p.energy);
      maxT = Math.max(maxT, p.t);
    });
    var traces = order.map(function (b) {
      return {x: branches[b].x, y: branches[b].y, name: "best: " + b, mode: "lines+markers",
              line: {shape: "hv"}, type: "scatter"};
    });
    if (job.lower_bound !== null) {
      traces.push({x: [0, Math.max(maxT, job.elapsed || 0)], y: [job.lower_bound, job.lower_bound], type: "scatter",
                   mode: "lines", name: "certified lower bound (" + (job.lower_bound_method || "") + ")",
                   line: {dash: "dash"}});
    }
    var layout = {margin: {t: 60}, xaxis: {title: {text: "seconds since start"}, rangemode: "tozero"},
                  yaxis: {title: {text: "best energy"}}, legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"}, uirevision: "keep",
                  annotations: job.trace.length ? [] : [{text: job.state in TERMINAL ? "no improvement was reported" :
                    "no improvement reported yet", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5}]};
    if (!document.getElementById("plot")) replace("plot", el("div", {id: "plot"}));
    Plotly.react("plot", traces, layout, {displaylogo: false, responsive: true});
  }
  function renderJob(job) {
    document.title = "qopt job " + job.job_id + " (" + job.state + ")";
    replace("title", el("h1", {id: "title"}, ["job " + job.job_id]));
    var facts = [["state", job.state], ["problem", job.problem_name || ""],
      ["backend requested", job.requested_backend], ["backend that ran", job.backend || ""],
      ["routing reason", job.routing_reason || ""], ["elapsed (s)", num(job.elapsed, 3)],
      ["best objective", num(job.best_objective)], ["best energy", num(job.best_energy)],
      ["certified lower bound", num(job.lower_bound)], ["gap", pct(job.gap)], ["attempt", String(job.attempt)]];
    replace("summary", el("dl", {id: "summary", "data-state": job.state}, [].concat.apply([], facts.map(function (f) {
      return [el("dt", {}, [f[0]]), el("dd", {"data-key": f[0]}, [f[1]])];
    }))));
    if (job.error) {
      replace("error", el("div", {id: "error", "class": "problem"}, [
        el("h2", {}, ["error"]), el("p", {}, [el("code", {}, [job.error.code])]), el("pre", {}, [job.error.message])]));
    }
    renderPlot(job);
    replace("candidates", table("candidates", ["rank", "energy", "objective", "feasible", "violations",
      "occurrences", "from"], job.candidates.map(function (c) {
      var v = Object.keys(c.violations).map(function (k) { return k + ": " + num(c.violations[k]); }).join(", ");
      var from = Object.keys(c.info).map(function (k) { return k + "=" + c.info[k]; }).join(" ");
      return {cells: [String(c.rank), num(c.energy), num(c.objective),
        c.feasible === null ? "" : (c.feasible ? "yes" : "no"), v, String(c.num_occurrences), from]};
    })));
    var chain = job.fallback_chain.map(function (f) {
      return el("li", {}, [typeof f === "string" ? f : JSON.stringify(f)]);
    });
    if (!chain.length) {
      chain = [el("li", {}, [job.state === "SUCCEEDED" ? "none: the backend that ran answered" : "no result"])];
    }
    replace("fallback", el("div", {id: "fallback"}, [el("h2", {}, ["fallback chain"]), el("ol", {}, chain)]));
    replace("provenance", el("div", {id: "provenance"}, [el("h2", {}, ["provenance"]),
      el("pre", {}, [JSON.stringify(job.provenance, null, 2)])]));
  }
  function pollJob(id) {
    var finished = false;
    get("/api/jobs/" + encodeURIComponent(id), function (job) {
      renderJob(job); finished = job.state in TERMINAL;
    }, function () { if (!finished) setTimeout(function () { pollJob(id); }, POLL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("home").setAttribute("href", withToken("/jobs"));
    var page = document.body.getAttribute("data-page");
    if (page === "list") pollList(); else pollJob(document.body.getAttribute("data-job-id"));
  });
})();
