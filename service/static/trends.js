/* framing trends: aggregation and charts, shared by the analyst page's Collection view and
 * the trends.html report that `framing trends` writes.
 *
 * aggregate() is model/trends.py's Aggregator in JavaScript: the same counts, the same
 * Wilson interval, the same periods, the same evidence order, so the page and the CLI give
 * the same numbers for the same scored documents (tests/test_trends.py checks it under node,
 * tests/test_trends_browser.py in Chromium). Dates: the page reads a subset of what the CLI's
 * python-dateutil reads (ISO 8601, RFC 2822, "March 4, 2025", "4 March 2025", with an
 * optional time and zone); a date it cannot read is reported as undated, never dropped
 * silently. render() draws with Chart.js (service/static/vendor/chart.umd.min.js).
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.FramingTrends = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const Z95 = 1.959963984540054;
  const PERIODS = ["day", "week", "month"];
  const DEFAULT_DATE_COLUMNS = ["published", "date"];
  const MISSING_GROUP = "(missing)";
  const ALL_GROUP = "all";
  const SMALL_SENTENCES = 20;
  const LISTED = 1000;
  const TZ_ABBREVIATIONS = { EST: -5, EDT: -4, CST: -6, CDT: -5, MST: -7, MDT: -6, PST: -8, PDT: -7,
    BST: 1, CET: 1, CEST: 2, EET: 2, EEST: 3, MSK: 3 };
  const DAY_MS = 86400000;

  // -- statistics ---------------------------------------------------------------
  function wilson(k, n, z) {
    if (z === undefined) z = Z95;
    if (n <= 0) return [null, null];
    const p = k / n;
    const z2 = z * z;
    const denom = 1 + z2 / n;
    const centre = (p + z2 / (2 * n)) / denom;
    const half = (z / denom) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    return [Math.max(0.0, centre - half), Math.min(1.0, centre + half)];
  }

  // -- dates --------------------------------------------------------------------
  const MONTHS = {};
  ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december"].forEach((name, i) => { MONTHS[name] = i + 1; MONTHS[name.slice(0, 3)] = i + 1; });
  MONTHS.sept = 9;
  const pad = (n, w) => String(n).padStart(w || 2, "0");
  const iso = (ymd) => `${pad(ymd[0], 4)}-${pad(ymd[1])}-${pad(ymd[2])}`;
  const daysIn = (y, m) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  const fromMs = (ms) => { const d = new Date(ms); return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]; };
  const toMs = (ymd) => Date.UTC(ymd[0], ymd[1] - 1, ymd[2]);

  const TIME = "(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:[.,]\\d+)?)?\\s*(am|pm)?";
  const ZONE = "(z|utc|gmt|[+-]\\d{2}(?::?\\d{2})?|[a-z]{2,5})";
  const DOW = "(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\\.?,?\\s+)?";
  const RE_ISO = new RegExp(`^(\\d{4})-(\\d{1,2})-(\\d{1,2})(?:[t ]\\s*${TIME}\\s*${ZONE}?)?$`, "i");
  const RE_DMY = new RegExp(`^${DOW}(\\d{1,2})(?:st|nd|rd|th)?\\s+([a-z]{3,9})\\.?,?\\s+(\\d{4})(?:,?\\s+(?:at\\s+)?${TIME}\\s*${ZONE}?)?$`, "i");
  const RE_MDY = new RegExp(`^${DOW}([a-z]{3,9})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})(?:,?\\s+(?:at\\s+)?${TIME}\\s*${ZONE}?)?$`, "i");

  function zoneOffsetMinutes(zone) {
    const z = zone.toLowerCase();
    if (z === "z" || z === "utc" || z === "gmt") return 0;
    const m = /^([+-])(\d{2})(?::?(\d{2}))?$/.exec(z);
    if (m) return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] || 0));
    const hours = TZ_ABBREVIATIONS[zone.toUpperCase()];
    return hours === undefined ? null : hours * 60;
  }

  function localDate(ms, tz) {
    if (!tz || tz === "UTC") return fromMs(ms);
    const parts = {};
    for (const p of new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date(ms))) parts[p.type] = Number(p.value);
    return [parts.year, parts.month, parts.day];
  }

  /** [year, month, day] of a publication time in zone tz (see model/trends.py parse_date), or null. */
  function parseDate(value, tz) {
    if (typeof value !== "string" || !value.trim()) return null;
    const text = value.trim();
    let y, mo, d, rest;
    let m = RE_ISO.exec(text);
    if (m) { y = +m[1]; mo = +m[2]; d = +m[3]; rest = m.slice(4); }
    else if ((m = RE_DMY.exec(text))) { y = +m[3]; mo = MONTHS[m[2].toLowerCase()]; d = +m[1]; rest = m.slice(4); }
    else if ((m = RE_MDY.exec(text))) { y = +m[3]; mo = MONTHS[m[1].toLowerCase()]; d = +m[2]; rest = m.slice(4); }
    else return null;
    if (!mo || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return null;
    const [hh, mi, ss, ampm, zone] = rest;
    if (hh === undefined) return [y, mo, d];
    let hour = +hh;
    if (ampm) {
      if (hour < 1 || hour > 12) return null;
      hour = (hour % 12) + (ampm.toLowerCase() === "pm" ? 12 : 0);
    }
    if (hour > 23 || +mi > 59 || +(ss || 0) > 59) return null;
    if (!zone) return [y, mo, d];  // no zone: already local to tz
    const offset = zoneOffsetMinutes(zone);
    if (offset === null) return null;  // an unknown zone could move the date
    return localDate(Date.UTC(y, mo - 1, d, hour, +mi, +(ss || 0)) - offset * 60000, tz);
  }

  /** The period holding a day: its label and first day (ISO weeks, Monday first). */
  function periodOf(ymd, period) {
    if (period === "day") return { label: iso(ymd), start: ymd };
    if (period === "month") return { label: `${pad(ymd[0], 4)}-${pad(ymd[1])}`, start: [ymd[0], ymd[1], 1] };
    if (period !== "week") throw new Error(`unknown period ${period}`);
    const t = toMs(ymd);
    const dow = (new Date(t).getUTCDay() + 6) % 7;
    const thursday = new Date(t + (3 - dow) * DAY_MS);
    const year = thursday.getUTCFullYear();
    const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS / 7) + 1;
    return { label: `${pad(year, 4)}-W${pad(week)}`, start: fromMs(t - dow * DAY_MS) };
  }

  function nextStart(start, period) {
    if (period === "day") return fromMs(toMs(start) + DAY_MS);
    if (period === "week") return fromMs(toMs(start) + 7 * DAY_MS);
    return start[1] === 12 ? [start[0] + 1, 1, 1] : [start[0], start[1] + 1, 1];
  }

  function groupValue(value) {
    if (value === null || value === undefined) return MISSING_GROUP;
    const text = typeof value === "string" ? value.trim() : JSON.stringify(value);
    return text || MISSING_GROUP;
  }

  // -- aggregation ----------------------------------------------------------------
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const rank = (a, b) => (b.probability - a.probability) || cmp(a.id, b.id) || (a.sentence - b.sentence);
  function top(items, k) { items.sort(rank); items.length = Math.min(items.length, k); return items; }
  const newCell = () => ({ documents: 0, sentences: 0, counts: new Map(), evidence: new Map() });
  const key = (a, b) => a + "\u0000" + b;

  /**
   * docs: [{id, fields: {outlet, published, ...}, sentences: [...], error}] in input order;
   * heads: [{name, type, labels}]; opts: {by, period, tz, dateColumns, balance: {head: [a, b]}, evidence}.
   * Returns {meta, rows, totals, undated, errors}, as model/trends.py's Trends.to_dict().
   */
  function aggregate(docs, heads, opts) {
    opts = Object.assign({ by: null, period: "week", tz: "UTC", dateColumns: DEFAULT_DATE_COLUMNS, balance: {}, evidence: 3 }, opts || {});
    if (!PERIODS.includes(opts.period)) throw new Error(`unknown period ${opts.period}`);
    const k = opts.evidence;
    const cells = new Map(), starts = new Map(), groups = new Map();
    const errors = [], undated = [], undatedCount = { missing: 0, unparseable: 0 };
    let documents = 0, withField = 0;
    for (const doc of docs) {
      documents += 1;
      if (doc.error) { errors.push({ id: doc.id, error: doc.error }); continue; }
      const fields = doc.fields || {};
      if (opts.by && fields[opts.by] !== null && fields[opts.by] !== undefined) withField += 1;
      const group = opts.by ? groupValue(fields[opts.by]) : ALL_GROUP;
      if (!groups.has(group)) groups.set(group, { documents: 0, sentences: 0, undated: 0 });
      const stats = groups.get(group);
      stats.documents += 1;
      const column = opts.dateColumns.find((c) => fields[c] !== null && fields[c] !== undefined && fields[c] !== "");
      const day = column === undefined ? null : parseDate(fields[column], opts.tz);
      if (day === null) {
        const reason = column === undefined ? "missing" : "unparseable";
        undatedCount[reason] += 1;
        stats.undated += 1;
        if (undated.length < LISTED) undated.push({ id: doc.id, group, reason, value: column === undefined ? null : fields[column] });
        continue;
      }
      const p = periodOf(day, opts.period);
      starts.set(p.label, p.start);
      const ck = key(group, p.label);
      if (!cells.has(ck)) cells.set(ck, newCell());
      const cell = cells.get(ck);
      cell.documents += 1;
      for (const s of doc.sentences || []) {
        if (s.content === false) continue;
        cell.sentences += 1;
        stats.sentences += 1;
        const labels = s.labels || {}, scores = s.scores || {};
        for (const head of heads) {
          const value = labels[head.name];
          const multi = head.type === "multi_label";
          const carried = multi ? (value || []) : (value === null || value === undefined ? [] : [value]);
          for (const lab of carried) {
            if (!head.labels.includes(lab)) continue;
            const lk = key(head.name, lab);
            cell.counts.set(lk, (cell.counts.get(lk) || 0) + 1);
            if (k > 0) {
              if (!cell.evidence.has(lk)) cell.evidence.set(lk, []);
              const bucket = cell.evidence.get(lk);
              bucket.push({ id: doc.id, sentence: s.index, start: s.start, end: s.end,
                probability: Number((scores[head.name] || {})[lab] || 0), text: s.text || "" });
              if (bucket.length > 4 * k) top(bucket, k);
            }
          }
        }
      }
    }
    if (opts.by && withField === 0 && groups.size) throw new Error(`no document has a field "${opts.by}" to group by`);
    const pairs = {};
    for (const head of heads) {
      if (head.type === "multi_label") continue;
      const pair = opts.balance[head.name] || [head.labels[0], head.labels[1]];
      pairs[head.name] = pair;
    }
    const periods = [];
    if (starts.size) {
      const all = [...starts.values()].map(iso).sort();
      let start = all[0].split("-").map(Number);
      const last = all[all.length - 1];
      while (iso(start) <= last) {
        periods.push(periodOf(start, opts.period));
        start = nextStart(start, opts.period);
      }
    }
    const groupNames = [...groups.keys()].sort(cmp);
    const rows = [], totals = [];
    const measures = (base, cell, withEvidence) => {
      const out = [];
      const n = cell.sentences;
      for (const head of heads) {
        for (const lab of head.labels) {
          const count = cell.counts.get(key(head.name, lab)) || 0;
          const [low, high] = wilson(count, n);
          const row = Object.assign({}, base, { documents: cell.documents, sentences: n, head: head.name, label: lab,
            measure: "share", count, share: n ? count / n : null, ci_low: low, ci_high: high });
          if (withEvidence) row.evidence = top((cell.evidence.get(key(head.name, lab)) || []).slice(), k);
          out.push(row);
        }
        if (head.type !== "multi_label") {
          const [a, b] = pairs[head.name];
          const diff = (cell.counts.get(key(head.name, a)) || 0) - (cell.counts.get(key(head.name, b)) || 0);
          const row = Object.assign({}, base, { documents: cell.documents, sentences: n, head: head.name, label: `${a} - ${b}`,
            measure: "balance", count: diff, share: n ? diff / n : null, ci_low: null, ci_high: null });
          if (withEvidence) row.evidence = [];
          out.push(row);
        }
      }
      return out;
    };
    for (const group of groupNames) {
      const total = newCell();
      for (const p of periods) {
        const cell = cells.get(key(group, p.label)) || newCell();
        total.documents += cell.documents;
        total.sentences += cell.sentences;
        for (const [lk, c] of cell.counts) total.counts.set(lk, (total.counts.get(lk) || 0) + c);
        for (const row of measures({ group, period: p.label, period_start: iso(p.start) }, cell, true)) {
          row.by = opts.by;
          rows.push(row);
        }
      }
      totals.push(...measures({ group }, total, false));
    }
    const undatedTotal = undatedCount.missing + undatedCount.unparseable;
    const meta = {
      by: opts.by, period: opts.period, tz: opts.tz, date_columns: opts.dateColumns.slice(),
      heads: heads.map((h) => ({ name: h.name, type: h.type, labels: h.labels.slice() })),
      balance: pairs, evidence: k, small_sentences: SMALL_SENTENCES,
      documents, errors: errors.length, dated: documents - errors.length - undatedTotal, undated: undatedTotal,
      undated_missing: undatedCount.missing, undated_unparseable: undatedCount.unparseable,
      groups: groupNames.map((g) => Object.assign({ group: g }, groups.get(g))),
      periods: periods.map((p) => ({ period: p.label, period_start: iso(p.start) })),
    };
    return { meta, rows, totals, undated, errors: errors.slice(0, LISTED) };
  }

  // -- rendering --------------------------------------------------------------------
  const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#882255", "#117733", "#999933", "#44aa99"];
  const CSS = `
.ft-report { font-size: 14px; }
.ft-report .ft-note { color: #4a5563; font-size: 13px; margin: 4px 0 10px; }
.ft-report .ft-warn { border: 1px solid #e0b252; background: #fff8e6; padding: 8px 12px; border-radius: 6px; margin: 8px 0; }
.ft-report h3 { font-size: 15px; margin: 18px 0 6px; }
.ft-report .ft-charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 14px; }
.ft-report figure { margin: 0; background: #fff; border: 1px solid #d4d9e0; border-radius: 6px; padding: 8px 10px; }
.ft-report figcaption { font-weight: 600; font-size: 13px; margin-bottom: 4px; }
.ft-report .ft-canvas { position: relative; height: 260px; }
.ft-report table { border-collapse: collapse; font-size: 13px; }
.ft-report th, .ft-report td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eceff3; vertical-align: top; }
.ft-report td.num, .ft-report th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ft-report .ft-heat td.num { min-width: 92px; }
.ft-report .ft-small { font-style: italic; color: #8a5a00; }
.ft-report tr.ft-selected td { background: #fff3c4; }
.ft-report .ft-evidence { margin: 0; padding-left: 18px; max-width: 720px; white-space: normal; }
.ft-report .ft-selection { background: #fff; border: 1px solid #d4d9e0; border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.ft-report .ft-heat-wrap, .ft-report .ft-points-wrap { overflow-x: auto; }
`;
  function ensureStyle(doc) {
    if (doc.getElementById("ft-style")) return;
    const st = doc.createElement("style");
    st.id = "ft-style";
    st.textContent = CSS;
    doc.head.append(st);
  }
  const pct = (x) => (x === null || x === undefined ? "—" : (100 * x).toFixed(1) + "%");
  const signed = (x) => (x === null || x === undefined ? "—" : (x > 0 ? "+" : "") + (100 * x).toFixed(1) + " pts");
  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
  }
  const clip = (t, n) => (t.length > n ? t.slice(0, n - 1) + "…" : t);

  /**
   * Draw data (aggregate()'s result or the report's embedded table) into container:
   * a chart per multi-label label (share per group over time, 95% band), a balance chart per
   * single-label head, a group x label heatmap over the whole range and the table of points
   * with their evidence sentences. hooks.openEvidence(ev), when given, makes each evidence
   * sentence a link (the page opens it in the sentence view).
   */
  function render(container, data, hooks) {
    hooks = hooks || {};
    const doc = container.ownerDocument;
    ensureStyle(doc);
    for (const c of container._ftCharts || []) c.destroy();
    container._ftCharts = [];
    const el = (tag, attrs, ...kids) => {
      const e = doc.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined) continue;
        if (k === "class") e.className = v; else if (k === "style") e.style.cssText = v; else e.setAttribute(k, v);
      }
      for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
      return e;
    };
    const m = data.meta;
    const groups = m.groups.map((g) => g.group);
    const periods = m.periods.map((p) => p.period);
    const cellOf = new Map();
    for (const r of data.rows) cellOf.set([r.group, r.period, r.head, r.label].join("\u0000"), r);
    const get = (g, p, h, l) => cellOf.get([g, p, h, l].join("\u0000"));
    const box = el("div", { class: "ft-report" });
    const by = m.by ? `by ${m.by}` : "all documents";
    box.append(el("p", { class: "ft-note", id: "ft-overview" },
      `${m.dated} dated documents ${by}, per ${m.period} (${m.tz}), ${groups.length} group(s), ${periods.length} period(s). ` +
      `Shares are of content sentences (page furniture left out); bands are 95% Wilson intervals; ` +
      `hollow points: fewer than ${m.small_sentences} sentences.`));
    if (m.undated) {
      const list = (data.undated || []).slice(0, 20).map((u) => `${u.id} (${u.reason}${u.value ? ": " + JSON.stringify(u.value) : ""})`);
      box.append(el("div", { class: "ft-warn", id: "ft-undated", "data-count": m.undated },
        `${m.undated} document(s) without a usable date in ${m.date_columns.join(" / ")} ` +
        `(${m.undated_missing} missing, ${m.undated_unparseable} unparseable) are in no period: ` + list.join(", ") +
        (m.undated > list.length ? ", …" : "")));
    }
    if (m.errors) {
      box.append(el("div", { class: "ft-warn", id: "ft-errors", "data-count": m.errors },
        `${m.errors} error record(s) (no text, not scored): ` + (data.errors || []).slice(0, 20).map((e) => `${e.id}: ${e.error}`).join("; ")));
    }
    const selection = el("div", { class: "ft-selection", id: "ft-selection", hidden: "" });
    const pointsBody = el("tbody");
    const rowIds = new Map();

    function evidenceList(ev) {
      return el("ol", { class: "ft-evidence" }, ...ev.map((e) => {
        const label = `${e.id} #${e.sentence + 1} [${e.start}–${e.end}] p=${e.probability.toFixed(3)}: `;
        const text = hooks.openEvidence
          ? (() => { const a = el("a", { href: "#", class: "ft-open", "data-id": e.id, "data-sentence": e.sentence }, e.text);
            a.addEventListener("click", (evt) => { evt.preventDefault(); hooks.openEvidence(e); }); return a; })()
          : e.text;
        return el("li", {}, label, text);
      }));
    }
    function select(row) {
      for (const tr of pointsBody.querySelectorAll("tr.ft-selected")) tr.classList.remove("ft-selected");
      const tr = rowIds.get(row);
      if (tr) { tr.classList.add("ft-selected"); }
      const what = row.measure === "balance" ? `${row.head}: ${row.label} = ${signed(row.share)}`
        : `${row.head}: ${row.label} = ${pct(row.share)} (95% CI ${pct(row.ci_low)}–${pct(row.ci_high)})`;
      selection.replaceChildren(el("strong", {}, `${row.group} · ${row.period}: ${what}`),
        el("div", { class: "ft-note" }, `${row.count} of ${row.sentences} content sentences, ${row.documents} documents`),
        row.evidence && row.evidence.length ? evidenceList(row.evidence) : el("div", { class: "ft-note" }, "No evidence sentences."));
      selection.hidden = false;
      if (hooks.onSelect) hooks.onSelect(row);
    }

    function chart(figure, head, label, balance) {
      const canvas = el("canvas", { "data-head": head.name, "data-label": label, role: "img",
        "aria-label": `${head.name} ${label} per ${m.period}` });
      figure.append(el("div", { class: "ft-canvas" }, canvas));
      if (typeof Chart === "undefined") { figure.append(el("p", { class: "ft-note" }, "Chart.js is not loaded: see the table below.")); return; }
      const datasets = [];
      groups.forEach((g, gi) => {
        const colour = PALETTE[gi % PALETTE.length];
        const cells = periods.map((p) => get(g, p, head.name, label));
        if (!balance) {
          datasets.push({ label: g + " (95% low)", data: cells.map((c) => c.ci_low), borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: false, ftRole: "band", ftGroup: g });
          datasets.push({ label: g + " (95% high)", data: cells.map((c) => c.ci_high), borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: "-1", backgroundColor: alpha(colour, 0.14), ftRole: "band", ftGroup: g });
        }
        datasets.push({ label: g, data: cells.map((c) => c.share), borderColor: colour, backgroundColor: colour, borderWidth: 2,
          pointRadius: 4, pointHoverRadius: 6, pointBorderColor: colour, pointBackgroundColor: cells.map((c) => (c.sentences < m.small_sentences ? "#fff" : colour)),
          spanGaps: false, ftRole: "share", ftGroup: g, ftCells: cells });
      });
      const c = new Chart(canvas, {
        type: "line",
        data: { labels: periods, datasets },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          interaction: { mode: "nearest", intersect: true },
          scales: { y: balance ? { min: -1, max: 1, ticks: { callback: (v) => `${v > 0 ? "+" : ""}${Math.round(100 * v)} pts` } }
            : { min: 0, max: 1, ticks: { callback: (v) => `${Math.round(100 * v)}%` } } },
          plugins: {
            legend: {
              labels: { filter: (item, d) => d.datasets[item.datasetIndex].ftRole === "share", boxWidth: 14 },
              onClick: (e, item, legend) => {
                const ch = legend.chart, g = ch.data.datasets[item.datasetIndex].ftGroup;
                const show = !ch.isDatasetVisible(item.datasetIndex);
                ch.data.datasets.forEach((ds, i) => { if (ds.ftGroup === g) ch.setDatasetVisibility(i, show); });
                ch.update();
              },
            },
            tooltip: {
              filter: (item) => item.dataset.ftRole === "share",
              callbacks: {
                title: (items) => items.length ? `${items[0].dataset.ftGroup} · ${items[0].label}` : "",
                label: (item) => {
                  const r = item.dataset.ftCells[item.dataIndex];
                  return balance ? `${label}: ${signed(r.share)} (${r.count} net of ${r.sentences} sentences, ${r.documents} docs)`
                    : `${pct(r.share)} (95% CI ${pct(r.ci_low)}–${pct(r.ci_high)}), ${r.count} of ${r.sentences} sentences, ${r.documents} docs`;
                },
                afterBody: (items) => {
                  const it = items[0];
                  if (!it) return [];
                  const r = it.dataset.ftCells[it.dataIndex];
                  return (r.evidence || []).map((e) => `• ${clip(e.text, 90)} (${e.id}, p=${e.probability.toFixed(2)})`);
                },
              },
            },
          },
          onClick: (evt, elements, ch) => {
            const hit = elements.find((e) => ch.data.datasets[e.datasetIndex].ftRole === "share");
            if (hit) select(ch.data.datasets[hit.datasetIndex].ftCells[hit.index]);
          },
        },
      });
      container._ftCharts.push(c);
    }

    const charts = el("div", {});
    for (const head of m.heads) {
      if (head.type === "multi_label") {
        charts.append(el("h3", {}, `${head.name}: share of content sentences per ${m.period}`));
        const grid = el("div", { class: "ft-charts" });
        for (const label of head.labels) {
          const fig = el("figure", { "data-head": head.name, "data-label": label }, el("figcaption", {}, label));
          grid.append(fig);
          chart(fig, head, label, false);
        }
        charts.append(grid);
      }
    }
    for (const head of m.heads) {
      if (head.type !== "multi_label") {
        const [a, b] = m.balance[head.name];
        charts.append(el("h3", {}, `${head.name}: balance ${a} − ${b} per ${m.period}`));
        const fig = el("figure", { "data-head": head.name, "data-label": `${a} - ${b}` },
          el("figcaption", {}, `share of sentences labelled ${a} minus share labelled ${b}`));
        charts.append(el("div", { class: "ft-charts" }, fig));
        chart(fig, head, `${a} - ${b}`, true);
      }
    }
    box.append(charts, selection);

    // Heatmap: group x label over the whole range.
    const heat = el("table", { class: "ft-heat", id: "ft-heatmap" });
    const labelsAll = m.heads.flatMap((h) => h.labels.map((l) => [h.name, l]));
    heat.append(el("thead", {}, el("tr", {}, el("th", {}, m.by || "group"), el("th", { class: "num" }, "sentences"),
      ...labelsAll.map(([h, l]) => el("th", { class: "num", title: h }, l)))));
    const tb = el("tbody");
    const totals = new Map(data.totals.map((t) => [[t.group, t.head, t.label].join("\u0000"), t]));
    let maxShare = 0;
    for (const t of data.totals) if (t.measure === "share" && t.share > maxShare) maxShare = t.share;
    for (const g of groups) {
      const info = m.groups.find((x) => x.group === g);
      const first = totals.get([g, labelsAll.length ? labelsAll[0][0] : "", labelsAll.length ? labelsAll[0][1] : ""].join("\u0000"));
      const n = first ? first.sentences : 0;
      const tr = el("tr", {}, el("th", { class: n < m.small_sentences ? "ft-small" : null, title: `${info.documents} documents, ${info.undated} undated` }, g),
        el("td", { class: "num" }, String(n)));
      for (const [h, l] of labelsAll) {
        const t = totals.get([g, h, l].join("\u0000"));
        const s = t ? t.share : null;
        const shade = s === null || !maxShare ? "" : `background:${alpha("#1f4fa3", 0.08 + 0.6 * (s / maxShare))}`;
        tr.append(el("td", { class: "num", style: shade, "data-group": g, "data-head": h, "data-label": l, "data-share": s === null ? "" : String(s),
          "data-sentences": t ? t.sentences : 0, title: t ? `${t.count} of ${t.sentences} sentences; 95% CI ${pct(t.ci_low)}–${pct(t.ci_high)}` : "" }, pct(s)));
      }
      tb.append(tr);
    }
    heat.append(tb);
    box.append(el("h3", {}, "All periods: share of content sentences per group and label"), el("div", { class: "ft-heat-wrap" }, heat));

    // Points and their evidence.
    const points = el("table", { class: "ft-points", id: "ft-points" });
    points.append(el("thead", {}, el("tr", {}, el("th", {}, m.by || "group"), el("th", {}, "period"), el("th", {}, "head"), el("th", {}, "label"),
      el("th", { class: "num" }, "share"), el("th", { class: "num" }, "95% CI"), el("th", { class: "num" }, "sentences"), el("th", { class: "num" }, "docs"),
      el("th", {}, "evidence"))));
    for (const r of data.rows) {
      if (!r.documents) continue;
      const tr = el("tr", { "data-group": r.group, "data-period": r.period, "data-head": r.head, "data-label": r.label, "data-measure": r.measure,
        "data-share": r.share === null ? "" : String(r.share), "data-count": r.count, "data-sentences": r.sentences },
        el("td", {}, r.group), el("td", {}, r.period), el("td", {}, r.head), el("td", {}, r.label),
        el("td", { class: "num" }, r.measure === "balance" ? signed(r.share) : pct(r.share)),
        el("td", { class: "num" }, r.ci_low === null ? "" : `${pct(r.ci_low)}–${pct(r.ci_high)}`),
        el("td", { class: r.sentences < m.small_sentences ? "num ft-small" : "num" }, String(r.sentences)),
        el("td", { class: "num" }, String(r.documents)),
        el("td", {}, r.evidence && r.evidence.length ? evidenceList(r.evidence) : ""));
      rowIds.set(r, tr);
      pointsBody.append(tr);
    }
    points.append(pointsBody);
    box.append(el("details", { id: "ft-points-details" }, el("summary", {}, `Points and their evidence sentences (${pointsBody.children.length} rows)`),
      el("div", { class: "ft-points-wrap" }, points)));
    container.replaceChildren(box);
    container.setAttribute("data-ft-ready", "true");
    return container._ftCharts;
  }

  /** The table as CSV (the columns of trends.csv). */
  function toCsv(data) {
    const cols = ["by", "group", "period", "period_start", "head", "label", "measure", "documents", "sentences", "count", "share", "ci_low", "ci_high", "evidence"];
    const cell = (v) => {
      const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
      return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    return [cols.join(",")].concat(data.rows.map((r) => cols.map((c) => cell(r[c])).join(","))).join("\r\n") + "\r\n";
  }

  return { Z95, PERIODS, DEFAULT_DATE_COLUMNS, wilson, parseDate, periodOf, groupValue, aggregate, render, toCsv };
});
