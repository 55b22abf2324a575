# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report: one self-contained HTML page over a run record, usable at 10,000 domains.

The domain list is drawn in the browser from the record's data embedded as JSON (a ``<script
type="application/json">`` block), a page of domains at a time, so the file stays small and opens fast
whatever the size of the estate. Everything a record holds is attacker-influenced text (zone contents,
connector names, error messages): the script only ever sets ``textContent`` and attributes through the DOM,
the JSON is escaped so that no ``</script>`` can close its block, and a Content-Security-Policy lets only the
page's own script and style run and fetch nothing.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re

from ansible_collections.mxhero.unroute.plugins.module_utils._names import both_forms, to_unicode

from ansible_collections.mxhero.unroute.plugins.module_utils._record import STATUSES

# Domains drawn at once; the next page is drawn when the end of the list scrolls into view.
PAGE = 100

_CSS_BASE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2530;background:#f7f8fa}
h1{font-size:1.5rem;margin:0 0 .3rem} h2{font-size:1.15rem;margin:0} .sub{color:#5b6675;margin-bottom:1.2rem}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0 1.6rem}
.card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:.6rem .9rem;min-width:7.5rem;cursor:pointer}
.card b{display:block;font-size:1.5rem;color:#1d2530} .card span{color:#5b6675;font-size:.85rem}
.controls{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:center;margin:0 0 1rem;position:sticky;top:0;
 background:#f7f8fa;padding:.5rem 0;z-index:1}
.controls input,.controls select,.controls button{font:inherit;padding:.25rem .4rem}
#shown{color:#5b6675;font-size:.9rem}
section.domain{background:#fff;border:1px solid #dde2e8;border-left:6px solid #9aa5b1;border-radius:8px;
 padding:.8rem 1rem;margin:0 0 1rem}
.head{display:flex;gap:.8rem;align-items:center;flex-wrap:wrap;margin-bottom:.5rem}
.badge{border-radius:999px;padding:.1rem .6rem;font-size:.8rem;font-weight:600;color:#fff;background:#607080}
.platform,.dns{color:#5b6675;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.3rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #edf0f3;vertical-align:top}
th{color:#5b6675;font-weight:600} code{font-size:.85rem;word-break:break-all}
.manual{background:#fff7e6;border:1px solid #f0c36d;border-radius:6px;padding:.5rem .7rem;margin:.4rem 0}
.error{background:#fdecec;border:1px solid #e59a9a;border-radius:6px;padding:.5rem .7rem;margin:.4rem 0}
.warn{background:#fffbe6;border:1px solid #e6d47a;border-radius:6px;padding:.4rem .7rem;margin:.4rem 0}
.none{color:#5b6675;font-style:italic}
.badge.dry-run-only{background:#5b6675}
#more{display:block;margin:1rem auto;font:inherit;padding:.4rem 1rem}
"""
_ACTION_COLOURS = {"removed": "#2e7d32", "disabled": "#2e7d32", "added": "#2e7d32", "changed": "#2e7d32",
                   "enabled": "#2e7d32", "would_enable": "#1565c0",
                   "would_remove": "#1565c0", "would_disable": "#1565c0", "would_add": "#1565c0",
                   "would_change": "#1565c0", "manual": "#d98b00", "reported": "#6a4fb3", "kept": "#607080"}
_STATE_COLOURS = {"current": "#2e7d32", "stale": "#c62828", "unreachable": "#d98b00"}
_DIGEST_TITLE = ("plan digest: unroute.yml -e unroute_plan=... applies this domain only while its fresh plan has "
                 "this digest")

# The page's behaviour. Record strings reach the DOM only through textContent and DOM attributes.
_SCRIPT = r"""
(function () {
"use strict";
var started = performance.now();
var data = JSON.parse(document.getElementById("report-data").textContent);
var parsed = performance.now();
var K = data.known, PAGE = data.page;
var order = {};
data.statuses.forEach(function (s, i) { order[s] = i; });
function has(map, key) { return Object.prototype.hasOwnProperty.call(map, key); }
function str(v) { return v === null || v === undefined ? "" : String(v); }
function rank(s) { return has(order, s) ? order[s] : data.statuses.length; }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) { e.className = cls; }
  if (text !== undefined) { e.textContent = str(text); }
  return e;
}
function tone(prefix, value, known) { return prefix + (has(known, str(value)) ? str(value) : "other"); }
// Most serious first whatever order the record came in; the record's own order breaks ties.
var all = data.domains.map(function (d, i) { d.i = i; d.k = (str(d.d) + " " + str(d.h)).toLowerCase(); return d; });
all.sort(function (a, b) { return rank(a.s) - rank(b.s) || a.i - b.i; });

function table(cls, heads, rows) {
  var t = el("table", cls), head = el("tr"), body = el("tbody");
  heads.forEach(function (h) { head.appendChild(el("th", "", h)); });
  t.appendChild(el("thead")).appendChild(head);
  rows.forEach(function (r) { body.appendChild(r); });
  t.appendChild(body);
  return t;
}
function cell(node) { var td = el("td"); td.appendChild(node); return td; }
function note(cls, title, text) {
  var div = el("div", cls);
  div.appendChild(el("b", "", title));
  div.appendChild(document.createTextNode(text));
  return div;
}
function section(d) {
  var s = el("section", "domain " + tone("st-", d.s, K.status));
  s.id = str(d.d);
  s.setAttribute("data-status", str(d.s));
  var head = s.appendChild(el("div", "head"));
  head.appendChild(el("h2", "", d.h || d.d));
  head.appendChild(el("span", "badge " + tone("bg-", d.s, K.status), has(data.labels, d.s) ? data.labels[d.s] : d.s));
  head.appendChild(el("span", "platform", d.p));
  if (d.n) { head.appendChild(el("span", "dns", "DNS: " + str(d.n))); }
  if (d.g) { head.appendChild(el("code", "digest", "plan " + str(d.g))).title = data.digest_title; }
  if (d.y) { head.appendChild(el("span", "badge dry-run-only", "dry run only")).title = "unroute_dry_run_only: always audited, never changed"; }
  if (d.z) { s.appendChild(note((d.z[0] ? "none" : "warn") + " mail-zone-check", "Mail zone check", ": " + str(d.z[1]))); }
  (d.e || []).forEach(function (x) { s.appendChild(note("error", "Error", " (" + str(x[0]) + "): " + str(x[1]))); });
  (d.m || []).forEach(function (x) {
    s.appendChild(note("manual", "Do by hand", " \u2013 " + str(x[0]) + ": " + str(x[1])));
  });
  (d.w || []).forEach(function (x) { s.appendChild(el("div", "warn", "Warning: " + str(x))); });
  if (d.f && d.f.length) {
    s.appendChild(table("", ["Object", "Kind", "Evidence", "Action"], d.f.map(function (f) {
      var tr = el("tr"), act = el("td");
      tr.appendChild(cell(el("code", "", f[0])));
      tr.appendChild(el("td", "", f[1]));
      tr.appendChild(el("td", "", f[2]));
      act.appendChild(el("span", "badge " + tone("ac-", f[3], K.action), f[3]));
      if (f[4]) { act.appendChild(document.createTextNode(" ")); act.appendChild(el("small", "", f[4])); }
      tr.appendChild(act);
      return tr;
    })));
  } else if (!(d.e && d.e.length) && !(d.c && d.c.length)) {
    s.appendChild(el("p", "none", "No mxHero leftovers found."));
  }
  if (d.c && d.c.length) {
    s.appendChild(table("checks", ["Platform", "Object", "Check", "Result", "Detail", "Fix"], d.c.map(function (c) {
      var tr = el("tr"), result = el("td");
      tr.setAttribute("data-state", str(c[3]));
      tr.appendChild(el("td", "", c[0]));
      tr.appendChild(cell(el("code", "", c[1])));
      tr.appendChild(el("td", "", c[2]));
      result.appendChild(el("span", "badge " + tone("bg-", c[3] === "ok" ? "ready" : c[3], K.status), c[3]));
      tr.appendChild(result);
      tr.appendChild(el("td", "", c[4]));
      tr.appendChild(el("td", "", c[5]));
      return tr;
    })));
  }
  if (d.v && d.v.length) {
    s.appendChild(table("verification", ["Nameserver", "Address", "Serves the change", "Waited", "RRsets"],
      d.v.map(function (v) {
        var tr = el("tr"), state = el("td");
        tr.setAttribute("data-state", str(v[2]));
        tr.appendChild(cell(el("code", "", v[0])));
        tr.appendChild(cell(el("code", "", v[1] || "-")));
        state.appendChild(el("span", "badge " + tone("vs-", v[2], K.state), v[2]));
        if (v[3]) { state.appendChild(document.createTextNode(" ")); state.appendChild(el("small", "", v[3])); }
        tr.appendChild(state);
        tr.appendChild(el("td", "", str(v[4]) + "s"));
        tr.appendChild(el("td", "", v[5]));
        return tr;
      })));
  }
  return s;
}

var list = document.getElementById("domains"), moreButton = document.getElementById("more");
var search = document.getElementById("search"), shownText = document.getElementById("shown");
var filters = {s: document.getElementById("filter-status"), p: document.getElementById("filter-platform"),
               n: document.getElementById("filter-dns")};
function options(select, key, labels) {
  var counts = {};
  all.forEach(function (d) { var v = str(d[key]); counts[v] = (counts[v] || 0) + 1; });
  var values = Object.keys(counts);
  if (key === "s") { values.sort(function (a, b) { return rank(a) - rank(b); }); } else { values.sort(); }
  values.forEach(function (v) {
    var o = el("option", "", (labels && has(labels, v) ? labels[v] : (v || "(none)")) + " (" + counts[v] + ")");
    o.value = v;
    select.appendChild(o);
  });
}
options(filters.s, "s", data.labels);
options(filters.p, "p");
options(filters.n, "n");

var shown = all, drawn = 0;
function drawMore() {
  var end = Math.min(drawn + PAGE, shown.length), frag = document.createDocumentFragment();
  for (; drawn < end; drawn++) { frag.appendChild(section(shown[drawn])); }
  list.appendChild(frag);
  var left = shown.length - drawn;
  moreButton.hidden = left <= 0;
  moreButton.textContent = "Show " + Math.min(PAGE, left) + " more (" + left + " left)";
  shownText.textContent = "Showing " + drawn + " of " + shown.length + " domains" +
    (shown.length === all.length ? "" : " (" + all.length + " in the run)");
}
function apply() {
  var term = search.value.trim().toLowerCase();
  var want = {s: filters.s.value, p: filters.p.value, n: filters.n.value};
  var active = Object.keys(want).filter(function (k) { return filters[k].selectedIndex > 0; });
  shown = all.filter(function (d) {
    return (!term || d.k.indexOf(term) !== -1) && active.every(function (k) { return str(d[k]) === want[k]; });
  });
  list.textContent = "";
  drawn = 0;
  drawMore();
}
search.addEventListener("input", apply);
Object.keys(filters).forEach(function (k) { filters[k].addEventListener("change", apply); });
moreButton.addEventListener("click", drawMore);
Array.prototype.forEach.call(document.querySelectorAll(".card"), function (card) {
  card.addEventListener("click", function () {
    var key = card.getAttribute("data-key");
    filters.s.value = has(order, key) ? key : "";
    if (filters.s.selectedIndex < 0) { filters.s.value = ""; }
    apply();
  });
});
if ("IntersectionObserver" in window) {
  new IntersectionObserver(function (entries) {
    if (entries.some(function (e) { return e.isIntersecting; }) && !moreButton.hidden) { drawMore(); }
  }, {rootMargin: "600px"}).observe(moreButton);
}

// A cell a spreadsheet would read as a formula gets a leading quote.
function csvCell(v) {
  v = str(v);
  if (/^[=+\-@\t\r]/.test(v)) { v = "'" + v; }
  return "\"" + v.replace(/"/g, "\"\"") + "\"";
}
function csv() {
  var rows = [["domain", "status", "platform", "dns_provider", "module", "kind", "object", "action", "evidence",
               "why"]];
  shown.forEach(function (d) {
    (d.f || []).forEach(function (f) { rows.push([d.d, d.s, d.p, d.n, f[5], f[1], f[0], f[3], f[2], f[4]]); });
  });
  return rows.map(function (r) { return r.map(csvCell).join(","); }).join("\r\n") + "\r\n";
}
document.getElementById("export-csv").addEventListener("click", function () {
  var a = el("a");
  a.href = URL.createObjectURL(new Blob(["\ufeff" + csv()], {type: "text/csv;charset=utf-8"}));
  a.download = data.csv_name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
});

apply();
window.unrouteRendered = performance.now();
// When the page's script started, had the record's data, and had drawn the list (benchmarks/report_bench.py).
window.unrouteTimes = {script: started, data: parsed, rendered: window.unrouteRendered};
document.body.setAttribute("data-rendered", String(Math.round(window.unrouteRendered)));
})();
"""


def _e(value):
    return html.escape("" if value is None else str(value))


def _css(colours):
    rules = [_CSS_BASE]
    for key, colour in colours.items():
        rules.append(".c-%s{color:%s!important} .bg-%s{background:%s} section.st-%s{border-left-color:%s}"
                     % (key, colour, key, colour, key, colour))
    rules.extend(".ac-%s{background:%s}" % pair for pair in _ACTION_COLOURS.items())
    rules.extend(".vs-%s{background:%s}" % pair for pair in _STATE_COLOURS.items())
    return "\n".join(rules)


def _text(value):
    return "" if value is None else str(value)


def _view(dom, check_mode):
    """What the page shows of a domain, as compact arrays (the JSON record keeps everything else)."""
    digest = dom.get("plan_digest")
    shown = both_forms(_text(dom.get("domain")))
    mail = dom.get("mail_zone_check")
    return {
        # Both forms of a unicode domain (bücher.test (xn--bcher-kva.test)); dry run only; the mail zone check.
        "h": shown if shown != _text(dom.get("domain")) else "", "y": bool(dom.get("dry_run_only")),
        "z": [bool(mail.get("ok")), _text(mail.get("summary"))] if isinstance(mail, dict) else None,
        "d": _text(dom.get("domain")), "s": _text(dom.get("status")), "p": _text(dom.get("platform")),
        "n": _text(dom.get("dns_provider")), "g": _text(digest)[:12] if digest and check_mode else "",
        "e": [[_text(e.get("module")), _text(e.get("msg"))] for e in dom.get("errors") or []],
        "m": [[_text(m.get("object")), _text(m.get("steps") or m.get("manual_steps"))]
              for m in dom.get("manual_actions") or []],
        "w": [_text(w) for w in dom.get("warnings") or []],
        "f": [[_object_forms(f.get("object")), _text(f.get("kind")), "; ".join(_text(x) for x in f.get("evidence") or []),
               _text(f.get("action")), _text(f.get("why")), _text(f.get("module"))]
              for f in dom.get("findings") or []],
        # A preflight's checks: platform, object, check, result (ok, unproven or the status it gives), detail, fix.
        "c": [[_text(c.get("platform")), _text(c.get("object")), _text(c.get("check")),
               "ok" if c.get("ok") and c.get("proven") else "unproven" if c.get("ok") else _text(c.get("status")),
               _text(c.get("detail")), _text(c.get("fix"))] for c in dom.get("checks") or []],
        "v": [[_text(v.get("server")), _text(v.get("address")), _text(v.get("state")), _text(v.get("detail")),
               _text(v.get("waited")), ", ".join(_text(x) for x in v.get("rrsets") or [])]
              for v in dom.get("verification") or []],
    }


def embed_json(value):
    """JSON that cannot end its <script> block or open a comment: <, > and & are written as \\u escapes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render(record, colours, labels, cards):
    """The page for ``record``; ``colours`` and ``labels`` per status, ``cards`` as (summary key, label)."""
    run, summary = record["run"], record["summary"]
    statuses = list(STATUSES) + [s for s in labels if s not in STATUSES]
    if run.get("mode") == "preflight":
        title = "mxHero unroute preflight (nothing changed)"
    elif run.get("mode") == "restore":
        # The restore view: what was put back, and what a person must still put back by hand.
        title = "mxHero unroute restore%s" % (" plan (check mode, nothing changed)" if run["check_mode"] else "")
    else:
        title = "mxHero unroute %s" % ("audit (check mode, nothing changed)" if run["check_mode"] else "run")
    # A status the cards do not name still gets one when some domain has it (an older or newer record).
    cards = list(cards) + [(s, labels.get(s, s)) for s in statuses if s not in dict(cards) and summary.get(s)]
    css = _css(colours)
    data = {"statuses": statuses, "labels": {s: labels.get(s, s) for s in statuses}, "page": PAGE,
            "known": {"status": {k: 1 for k in colours}, "action": {k: 1 for k in _ACTION_COLOURS},
                      "state": {k: 1 for k in _STATE_COLOURS}},
            "digest_title": _DIGEST_TITLE,
            # The file name comes from the run's mode and id, stripped to safe characters.
            "csv_name": re.sub(r"[^A-Za-z0-9_.-]", "",
                               "findings-%s-%s.csv" % (run.get("mode", "run"), run.get("id") or "record")),
            "domains": [_view(d, run.get("check_mode")) for d in record["domains"]]}
    csp = ("default-src 'none'; script-src %s; style-src %s; img-src data:; base-uri 'none'; form-action 'none'"
           % (_hash(_SCRIPT), _hash(css)))
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           "<meta http-equiv='Content-Security-Policy' content=\"%s\">" % csp,
           "<meta name='viewport' content='width=device-width,initial-scale=1'>",
           "<title>%s</title><style>%s</style></head><body>" % (_e(title), css),
           "<h1>%s</h1>" % _e(title),
           "<div class='sub'>%s to %s &middot; %d domains%s</div>"
           % (_e(run["started"]), _e(run["finished"]), summary["domains"],
              # Names the JSON record this page shows, so a reviewer can tell which file to apply.
              " &middot; run <code class='run-id'>%s</code>" % _e(run["id"]) if run.get("id") else "")]
    out.append("<div class='cards' id='summary'>")
    for key, label in cards:
        out.append("<div class='card' data-key='%s' title='show only these'><b class='c-%s'>%d</b><span>%s</span>"
                   "</div>" % (_e(key), _e(key), summary.get(key, 0), _e(label)))
    out.append("</div>")
    out.append("<div class='controls' id='controls'>"
               "<input type='search' id='search' placeholder='Search domains' aria-label='Search domains'>"
               "<label>Status <select id='filter-status'><option value=''>all</option></select></label>"
               "<label>Platform <select id='filter-platform'><option value=''>all</option></select></label>"
               "<label>DNS provider <select id='filter-dns'><option value=''>all</option></select></label>"
               "<button type='button' id='export-csv'>Export findings (CSV)</button>"
               "<span id='shown'></span></div>")
    out.append("<noscript><p class='none'>The domain list is drawn by this page's script; the run record (JSON) "
               "holds every domain.</p></noscript>")
    out.append("<div id='domains'></div><button type='button' id='more' hidden></button>")
    out.append("<script type='application/json' id='report-data'>%s</script>" % embed_json(data))
    out.append("<script>%s</script>" % _SCRIPT)
    out.append("</body></html>")
    return "\n".join(out)


def _object_forms(text):
    """A finding's object with its unicode name beside any A-label it holds (xn--bcher-kva.test. MX 10 ...)."""
    text = _text(text)
    if "xn--" not in text.lower():
        return text
    shown = " ".join(to_unicode(word) if "xn--" in word.lower() else word for word in text.split(" "))
    return text if shown == text else "%s [%s]" % (text, shown)
