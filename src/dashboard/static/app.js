// The underway dashboard page: renders what the server streams (GET /events) and sends
// the controls (POST /api/*) with the token. No framework; uPlot draws the charts.
(() => {
  "use strict";

  const TOKEN_KEY = "underway-dashboard-token";
  const MAX_SAMPLES = 900;
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => Math.round(n).toLocaleString("en-US");

  // The token comes from ?token= once, then lives in this tab's session storage; it is
  // taken out of the address bar so it does not end up in history or screenshots.
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    sessionStorage.setItem(TOKEN_KEY, params.get("token") || "");
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
  }
  const tokenInput = $("token");
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || "";
  tokenInput.addEventListener("input", () => {
    sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
    renderTokenBox();
  });

  let snapshot = null;
  let samples = [];
  let charts = { rate: null, lag: null, tables: "" };

  // ---- formatting

  function bytes(n) {
    if (n === null || n === undefined) return "—";
    if (n < 1024) return `${Math.round(n)} B`;
    const units = ["kB", "MB", "GB", "TB"];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
    if (seconds < 60) return `${Math.round(seconds)}s`;
    const m = Math.floor(seconds / 60);
    if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
    return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
  }

  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const today = new Date().toDateString() === d.toDateString();
    const time = d.toLocaleTimeString("en-GB", { hour12: false });
    return today ? time : `${d.toISOString().slice(0, 10)} ${time}`;
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  const phaseName = (p) => String(p || "").replace("_", " ");

  // ---- rendering

  function render() {
    if (!snapshot) return;
    $("schema").textContent = snapshot.schema;
    $("updated").textContent = `updated ${clock(snapshot.at)}`;
    const dbError = $("db-error");
    dbError.hidden = !snapshot.error;
    dbError.textContent = snapshot.error ? `Cannot read the state schema: ${snapshot.error}` : "";
    renderCurrent(snapshot.current);
    renderJobs(snapshot.jobs, snapshot.current);
    renderHistory(snapshot.migrations);
    renderControls();
    $("lag-now").textContent =
      snapshot.replicas === 0
        ? "no replica streams"
        : snapshot.replicaLagBytes === null
          ? `${snapshot.replicas} replica(s); their positions are hidden from this role (grant it pg_monitor)`
          : `${bytes(snapshot.replicaLagBytes)} now, ${snapshot.replicas} replica(s)`;
    renderCharts();
  }

  function renderCurrent(current) {
    $("current-name").textContent = current ? current.name : "none yet";
    const phase = $("current-phase");
    phase.textContent = current ? phaseName(current.phase) : "";
    phase.className = `badge ${current ? current.phase : ""}`;
    const timeline = $("timeline");
    timeline.replaceChildren(
      ...(current ? current.timeline : []).map((entry) =>
        el("li", { class: entry.state, "data-phase": entry.phase }, phaseName(entry.phase), el("span", { class: "when", text: entry.at ? clock(entry.at) : "\u00a0" })),
      ),
    );
    const running = current && current.stepList.find((s) => s.state === "current");
    $("current-meta").textContent = current
      ? [
          `version schema ${current.versionSchema}`,
          `started ${clock(current.createdAt)}`,
          running ? `now: ${current.action} ${running.index + 1}/${current.stepList.length} ${running.description}` : null,
        ]
          .filter(Boolean)
          .join(" · ")
      : "";
    const stepsBox = $("steps-box");
    stepsBox.hidden = !current || current.stepList.length === 0;
    if (current) {
      const done = current.stepList.filter((s) => s.state === "done").length;
      $("steps-summary").textContent = `${current.action}: ${done}/${current.stepList.length} steps done`;
      $("steps").replaceChildren(...current.stepList.map((s) => el("li", { class: s.state, text: s.description })));
    }
    const error = $("current-error");
    error.hidden = !(current && current.lastError);
    error.textContent = current && current.lastError ? `Last error: ${current.lastError}` : "";
  }

  function limits(settings) {
    const parts = [];
    parts.push(`rate ${settings.maxRate === null ? "none" : `${fmt(settings.maxRate)}/s`}`);
    if (settings.maxLagBytes !== null) parts.push(`lag ${bytes(settings.maxLagBytes)}`);
    else if (settings.maxLagSeconds !== null) parts.push(`lag ${settings.maxLagSeconds}s`);
    else parts.push("lag none");
    if (settings.throttleQuery) parts.push("query");
    return parts.join(", ");
  }

  function heldBy(job) {
    if (job.state === "paused") return "paused by an operator";
    if (job.state === "interrupted") return "no live worker (run underway resume)";
    if (job.throttledBy === "max-rate") return `max-rate (${fmt(job.settings.maxRate || 0)}/s)`;
    // The foreground guard: what it sees of the application, and the share of time it lets batches run.
    const g = job.foreground;
    if (job.throttledBy === "foreground" && g) {
      return `foreground (app ${fmt(g.tps)} writes/s, batches ${Math.round(g.duty * 100)}% of the time${g.impact === null ? "" : `, app at ${Math.round(g.impact * 100)}% while one runs`})`;
    }
    return job.throttledBy || "—";
  }

  // Going at its max rate is the job doing what it was told: drawn as running, not held.
  const barState = (job) => (job.state === "throttled" && job.throttledBy === "max-rate" ? "running" : job.state);

  function renderJobs(jobs, current) {
    $("no-jobs").hidden = jobs.length > 0;
    $("jobs").replaceChildren(
      ...jobs.map((job) => {
        const pct = job.rowsTotal > 0 ? Math.min(100, (100 * job.rowsDone) / job.rowsTotal) : 100;
        const fill = el("div", { class: "fill" });
        fill.style.width = `${pct.toFixed(1)}%`;
        return el(
          "tr",
          { "data-table": job.table },
          el("td", { text: job.table }),
          el("td", {}, el("span", { class: `badge ${job.state}`, "data-testid": `job-state-${job.table}`, text: job.state })),
          el("td", {}, el("div", { class: `bar ${barState(job)}`, role: "progressbar", "aria-valuenow": pct.toFixed(1), "aria-valuemin": "0", "aria-valuemax": "100" }, fill, el("span", { class: "pct", text: `${pct.toFixed(1)}%` }))),
          el("td", { class: "num" }, el("span", { "data-testid": `rows-done-${job.table}`, text: fmt(job.rowsDone) }), el("span", { class: "muted", text: ` / ${fmt(job.rowsTotal)}` })),
          el("td", { class: "num", "data-testid": `rate-${job.table}`, text: job.rowsPerSecond > 0 ? `${fmt(job.rowsPerSecond)}/s` : "—" }),
          el("td", { class: "num", text: job.state === "done" ? "done" : duration(job.etaSeconds) }),
          el("td", { "data-testid": `held-by-${job.table}`, text: heldBy(job) }),
          el("td", { class: "muted", text: limits(job.settings) }),
        );
      }),
    );
    const live = jobs.filter((j) => j.state !== "done");
    const held = live.filter((j) => j.state === "throttled" || j.state === "paused").map((j) => `${j.table}: ${heldBy(j)}`);
    const first = live[0];
    $("throttle-in-force").textContent = !current
      ? ""
      : held.length
        ? `throttle in force: ${held.join("; ")}`
        : first
          ? `limits: ${limits(first.settings)}`
          : "";
  }

  function renderHistory(migrations) {
    $("no-history").hidden = migrations.length > 0;
    $("history").replaceChildren(
      ...migrations.map((m) => {
        const took = m.completedAt ? (Date.parse(m.completedAt) - Date.parse(m.createdAt)) / 1000 : null;
        return el(
          "tr",
          {},
          el("td", { text: m.name }),
          el("td", {}, el("span", { class: `badge ${m.phase}`, text: phaseName(m.phase) })),
          el("td", { text: clock(m.createdAt) }),
          el("td", { text: m.completedAt ? clock(m.completedAt) : m.phase === "rolled_back" ? clock(m.updatedAt) : "—" }),
          el("td", { class: "num", text: took === null ? "—" : duration(took) }),
          el("td", { class: "error", text: m.lastError || "" }),
        );
      }),
    );
  }

  function renderTokenBox() {
    tokenInput.closest("label").classList.toggle("missing", !tokenInput.value.trim());
  }

  function renderControls() {
    const jobs = snapshot ? snapshot.jobs : [];
    const active = Boolean(snapshot && snapshot.current && snapshot.current.active);
    const has = (...states) => active && jobs.some((j) => states.includes(j.state));
    $("pause").disabled = !has("running", "throttled");
    $("resume").disabled = !has("paused");
    $("cancel").disabled = !has("running", "throttled", "paused", "interrupted");
    $("apply-throttle").disabled = !active || !jobs.some((j) => j.state !== "done");
    const first = jobs.find((j) => j.state !== "done");
    if (first) {
      $("max-rate").placeholder = `now ${first.settings.maxRate === null ? "none" : `${fmt(first.settings.maxRate)}/s`}`;
      const lag = first.settings.maxLagBytes !== null ? bytes(first.settings.maxLagBytes) : first.settings.maxLagSeconds !== null ? `${first.settings.maxLagSeconds}s` : "none";
      $("max-lag").placeholder = `now ${lag}`;
    }
    renderTokenBox();
  }

  // ---- charts

  function chartWidth(id) {
    return Math.max(240, $(id).clientWidth);
  }

  function tablesOf() {
    const names = new Set();
    for (const s of samples) for (const t of Object.keys(s.rates)) names.add(t);
    return [...names].sort();
  }

  const PALETTE = ["#2f6fde", "#d97706", "#059669", "#9333ea", "#dc2626", "#0891b2"];

  function renderCharts() {
    if (typeof uPlot === "undefined") return;
    const tables = tablesOf();
    const key = tables.join("\u0000");
    const xs = samples.map((s) => s.t);
    const rateData = [xs, ...tables.map((t) => samples.map((s) => (t in s.rates ? s.rates[t] : null)))];
    const lagData = [xs, samples.map((s) => s.lagBytes)];
    if (!charts.rate || charts.tables !== key) {
      if (charts.rate) charts.rate.destroy();
      charts.rate = new uPlot(
        {
          width: chartWidth("rate-chart"),
          height: 200,
          legend: { live: false },
          scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(10, max * 1.15)] } },
          series: [{}, ...tables.map((t, i) => ({ label: t, stroke: PALETTE[i % PALETTE.length], width: 2, fill: `${PALETTE[i % PALETTE.length]}22`, value: (u, v) => (v === null ? "—" : `${fmt(v)}/s`) }))],
          axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => fmt(v)) }],
        },
        rateData,
        $("rate-chart"),
      );
      charts.tables = key;
    } else {
      charts.rate.setData(rateData);
    }
    if (!charts.lag) {
      charts.lag = new uPlot(
        {
          width: chartWidth("lag-chart"),
          height: 200,
          legend: { live: false },
          scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1024, (max || 0) * 1.15)] } },
          series: [{}, { label: "replay lag", stroke: "#b7791f", width: 2, fill: "#b7791f22", value: (u, v) => bytes(v) }],
          axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => bytes(v)) }],
        },
        lagData,
        $("lag-chart"),
      );
    } else {
      charts.lag.setData(lagData);
    }
  }

  window.addEventListener("resize", () => {
    if (charts.rate) charts.rate.setSize({ width: chartWidth("rate-chart"), height: 200 });
    if (charts.lag) charts.lag.setSize({ width: chartWidth("lag-chart"), height: 200 });
  });

  // ---- controls

  async function control(name, body) {
    const result = $("control-result");
    const token = tokenInput.value.trim();
    if (!token) {
      result.className = "result bad";
      result.textContent = "Paste the token underway dashboard printed at start (or open the address it printed).";
      tokenInput.focus();
      return;
    }
    result.className = "result muted";
    result.textContent = `${name}…`;
    try {
      const response = await fetch(`/api/${name}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body || {}),
      });
      const answer = await response.json();
      if (answer.ok) {
        result.className = "result ok";
        result.textContent = `${name}: ${answer.tables.join(", ") || "nothing to change"}${answer.settings ? ` ${JSON.stringify(answer.settings)}` : ""}`;
      } else {
        result.className = "result bad";
        result.textContent = `${name} refused: ${answer.error.message}`;
      }
    } catch (error) {
      result.className = "result bad";
      result.textContent = `${name} failed: ${error}`;
    }
  }

  $("pause").addEventListener("click", () => control("pause"));
  $("resume").addEventListener("click", () => control("resume"));
  $("cancel").addEventListener("click", () => {
    if (confirm("Cancel the backfill? The migration stays started; run underway resume to continue it, or underway rollback.")) control("cancel");
  });
  $("throttle-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    const rate = $("max-rate").value.trim();
    const lag = $("max-lag").value.trim();
    if (rate) body.maxRate = rate;
    if (lag) body.maxLag = lag;
    control("throttle", body).then(() => {
      $("max-rate").value = "";
      $("max-lag").value = "";
    });
  });

  // ---- the stream

  function connect() {
    const connection = $("connection");
    const events = new EventSource("/events");
    events.addEventListener("open", () => {
      connection.className = "pill pill-live";
      connection.textContent = "live";
    });
    events.addEventListener("error", () => {
      connection.className = "pill pill-down";
      connection.textContent = "reconnecting…";
    });
    events.addEventListener("hello", (event) => {
      const data = JSON.parse(event.data);
      snapshot = data.snapshot;
      samples = data.samples || [];
      render();
    });
    events.addEventListener("snapshot", (event) => {
      const data = JSON.parse(event.data);
      snapshot = data.snapshot;
      if (!data.snapshot.error) {
        samples.push(data.sample);
        if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
      }
      render();
    });
  }

  renderTokenBox();
  connect();
})();
