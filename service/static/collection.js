/* The analyst page's Collection view: a JSONL or CSV of articles (text, outlet, date...) is
 * read in the browser, scored through POST /v1/classify in small batches (progress bar,
 * cancel button), aggregated by trends.js exactly as `framing trends` aggregates, and drawn.
 * Records are read as `framing score` reads them (same ids, same error records), and the
 * scored collection can be downloaded as the JSONL `framing score` writes, so the CLI can
 * be run on exactly what the page charted.
 *
 * Needs from index.html: api(), loadModel(), state.model, showDocument(), showError().
 */
(function () {
  "use strict";
  const MAX_BYTES = 10 * 1024 * 1024;  // documented in docs/service.md
  const MAX_ARTICLES = 5000;
  const BATCH_DOCS = 16;  // per request; the service's default limit is 64 documents
  const BATCH_CHARS = 200000;  // per request; the service's default body limit is 2 MB
  const $ = (id) => document.getElementById(id);
  const coll = { name: "", records: [], columns: [], docs: null, data: null, abort: null, byId: new Map() };

  // -- reading, as model/batch.py reads -------------------------------------------------
  function checkText(rec) {
    if (rec.error === null) {
      if (typeof rec.text !== "string") rec.error = "field 'text' is missing or not a string";
      else if (!rec.text.trim()) rec.error = "empty document: no text";
    }
    return rec;
  }

  function readJsonl(text, name, textCol, idCol) {
    const records = [];
    text.split("\n").forEach((raw, i) => {
      if (!raw.trim()) return;
      const n = i + 1;
      const rec = { id: `${name}:${n}`, line: n, text: null, fields: {}, error: null };
      let obj;
      try { obj = JSON.parse(raw); } catch (e) { rec.error = `malformed JSON: ${e.message}`; records.push(rec); return; }
      if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
        rec.error = `expected a JSON object, got ${Array.isArray(obj) ? "list" : typeof obj}`;
      } else {
        if (obj[idCol] !== null && obj[idCol] !== undefined) rec.id = String(obj[idCol]);
        rec.text = obj[textCol];
        for (const [k, v] of Object.entries(obj)) if (k !== idCol && k !== textCol) rec.fields[k] = v;
      }
      records.push(checkText(rec));
    });
    return records;
  }

  /** RFC 4180 rows, each with the line it starts on. */
  function csvRows(text) {
    const rows = [];
    let row = [], cell = "", quoted = false, line = 1, start = 1, i = 0, any = false;
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"') { if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false; }
        else { if (ch === "\n") line++; cell += ch; }
      } else if (ch === '"') { quoted = true; any = true; }
      else if (ch === ",") { row.push(cell); cell = ""; any = true; }
      else if (ch === "\n" || ch === "\r") {
        if (ch === "\r" && text[i + 1] === "\n") i++;
        row.push(cell);
        if (any || row.length > 1 || row[0] !== "") rows.push({ cells: row, line: start });
        row = []; cell = ""; any = false; line++; start = line;
      } else { cell += ch; any = true; }
    }
    if (any || cell !== "" || row.length) { row.push(cell); rows.push({ cells: row, line: start }); }
    return rows;
  }

  function readCsv(text, name, textCol, idCol) {
    const rows = csvRows(text);
    if (!rows.length) return [];
    const header = rows[0].cells;
    if (!header.includes(textCol)) {
      return [{ id: `${name}:1`, line: 1, text: null, fields: {}, error: `no column '${textCol}' in header [${header.join(", ")}]` }];
    }
    return rows.slice(1).map(({ cells, line }) => {
      const rec = { id: `${name}:${line}`, line, text: null, fields: {}, error: null };
      if (cells.length > header.length) {
        rec.error = `${cells.length} fields where the header has ${header.length}`;
        return rec;
      }
      header.forEach((col, j) => {
        const v = j < cells.length ? cells[j] : null;
        if (col === idCol) { if (v) rec.id = v; }
        else if (col === textCol) rec.text = v;
        else rec.fields[col] = v;
      });
      return checkText(rec);
    });
  }

  // -- the view ---------------------------------------------------------------------------
  function status(msg) { $("coll-status").textContent = msg; }

  async function onFile(file) {
    showError("");
    coll.docs = null;
    $("coll-results").replaceChildren();
    $("coll-download").hidden = true;
    if (!file) return;
    if (file.size > MAX_BYTES) {
      showError(`${file.name}: ${(file.size / 1048576).toFixed(1)} MB; the page takes files up to ${MAX_BYTES / 1048576} MB. ` +
        "Use `framing score` and `framing trends` for larger collections.");
      return;
    }
    const text = await file.text();
    const textCol = $("coll-text").value.trim() || "text";
    const idCol = $("coll-id").value.trim() || "id";
    const isCsv = /\.csv$/i.test(file.name);
    const records = isCsv ? readCsv(text, file.name, textCol, idCol) : readJsonl(text, file.name, textCol, idCol);
    if (records.length > MAX_ARTICLES) {
      showError(`${file.name}: ${records.length} articles; the page takes up to ${MAX_ARTICLES}. Use the CLI for more.`);
      return;
    }
    coll.name = file.name;
    coll.records = records;
    const columns = [];
    for (const r of records) for (const k of Object.keys(r.fields)) if (!columns.includes(k)) columns.push(k);
    coll.columns = columns;
    const by = $("coll-by");
    const previous = by.value;
    by.replaceChildren(new Option("(no grouping: one series)", ""), ...columns.map((c) => new Option(c, c)));
    by.value = columns.includes(previous) ? previous : columns.includes("outlet") ? "outlet" : "";
    const bad = records.filter((r) => r.error).length;
    status(`${records.length} articles read from ${file.name}` + (bad ? ` (${bad} without text: reported as error records)` : "") + ".");
    $("coll-run").disabled = !records.length;
  }

  const overLimit = (err) => /^(413|422):/.test(err.message);

  async function classifyBatch(batch, signal) {
    const body = { documents: batch.map((r) => ({ text: r.text })), options: { include_sentences: true } };
    for (let attempt = 1; ; attempt++) {
      try {
        return (await api("/v1/classify", body, signal)).documents;
      } catch (err) {  // the service shed the request (503, Retry-After): wait as it asks, a few times
        if (!err.retryAfter || attempt >= 10 || signal.aborted) throw err;
        showError(`${err.message} Retrying in ${err.retryAfter} s (attempt ${attempt} of 10).`);
        await new Promise((resolve) => setTimeout(resolve, 1000 * err.retryAfter));
        showError("");
      }
    }
  }

  async function run() {
    if (!coll.records.length) return;
    showError("");
    const model = await loadModel();
    const todo = coll.records.filter((r) => !r.error);
    const results = new Map();
    const controller = new AbortController();
    coll.abort = controller;
    $("coll-run").disabled = true;
    $("coll-cancel").hidden = false;
    const bar = $("coll-progress");
    bar.max = Math.max(1, todo.length);
    bar.value = 0;
    bar.hidden = false;
    let done = 0, modelRef = null;
    try {
      let i = 0;
      while (i < todo.length) {
        const batch = [];
        let chars = 0;
        while (i < todo.length && batch.length < BATCH_DOCS && (!batch.length || chars + todo[i].text.length <= BATCH_CHARS)) {
          chars += todo[i].text.length;
          batch.push(todo[i++]);
        }
        status(`Scoring: ${done} of ${todo.length} articles…`);
        let out;
        try {
          out = await classifyBatch(batch, controller.signal);
        } catch (err) {
          if (controller.signal.aborted || !overLimit(err)) throw err;
          out = [];  // a document of the batch is over a limit of the service: one by one
          for (const r of batch) {
            try { out.push((await classifyBatch([r], controller.signal))[0]); }
            catch (e) { if (controller.signal.aborted || !overLimit(e)) throw e; out.push({ error: e.message.split("\n")[0] }); }
          }
        }
        batch.forEach((r, j) => results.set(r, out[j]));
        done += batch.length;
        bar.value = done;
      }
      modelRef = { name: model.name, version: model.version };
    } catch (err) {
      if (controller.signal.aborted) status(`Cancelled: ${done} of ${todo.length} articles were scored; nothing charted.`);
      else { status(""); showError(err.message); }
      return;
    } finally {
      coll.abort = null;
      $("coll-run").disabled = false;
      $("coll-cancel").hidden = true;
      bar.hidden = true;
    }
    coll.model = modelRef;
    coll.docs = coll.records.map((r) => {
      if (r.error) return { id: r.id, error: r.error, line: r.line, record: r };
      const d = results.get(r);
      if (d.error) return { id: r.id, error: d.error, line: r.line, record: r };
      return { id: r.id, fields: r.fields, sentences: d.sentences || [], summary: d.summary, record: r };
    });
    coll.byId = new Map();
    for (const d of coll.docs) if (!d.error && !coll.byId.has(d.id)) coll.byId.set(d.id, d);
    chart();
  }

  function chart() {
    if (!coll.docs) return;
    showError("");
    const dateCols = $("coll-date").value.split(",").map((s) => s.trim()).filter(Boolean);
    try {
      coll.data = FramingTrends.aggregate(coll.docs, state.model.heads, {
        by: $("coll-by").value || null,
        period: $("coll-period").value,
        tz: $("coll-tz").value.trim() || "UTC",
        dateColumns: dateCols.length ? dateCols : FramingTrends.DEFAULT_DATE_COLUMNS,
      });
    } catch (err) {
      showError(err.message);
      return;
    }
    FramingTrends.render($("coll-results"), coll.data, {
      openEvidence: (ev) => {
        const d = coll.byId.get(ev.id);
        if (d) showDocument(d.record.text, d, ev.sentence);
      },
    });
    const m = coll.data.meta;
    status(`${m.documents} articles: ${m.dated} dated, ${m.undated} undated, ${m.errors} error records. ` +
      "Hover a point for its evidence; click it to list the sentences and open them.");
    $("coll-download").hidden = false;
  }

  function download(name, text, type) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type }));
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  function scoredJsonl() {
    // What `framing score` writes for the same file, so `framing trends` can be run on it.
    return coll.docs.map((d) => JSON.stringify(d.error
      ? { id: d.id, error: d.error, source: coll.name, line: d.line }
      : Object.assign({ id: d.id }, d.fields, { summary: d.summary, sentences: d.sentences, model: coll.model }))).join("\n") + "\n";
  }

  $("coll-file").addEventListener("change", (e) => onFile(e.target.files[0]));
  const drop = $("coll-drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) onFile(e.dataTransfer.files[0]);
  });
  $("coll-run").addEventListener("click", () => { run().catch((err) => showError(err.message)); });
  $("coll-cancel").addEventListener("click", () => { if (coll.abort) coll.abort.abort(); });
  for (const id of ["coll-by", "coll-period", "coll-tz", "coll-date"]) $(id).addEventListener("change", chart);
  $("coll-get-jsonl").addEventListener("click", () => download(coll.name.replace(/\.[^.]*$/, "") + ".scored.jsonl", scoredJsonl(), "application/x-ndjson"));
  $("coll-get-csv").addEventListener("click", () => download("trends.csv", FramingTrends.toCsv(coll.data), "text/csv"));
  window.framingCollection = coll;  // for tests and the console
})();
