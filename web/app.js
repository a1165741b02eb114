// Tidewater's clinic web app: TIDE triage, the patient list and a patient's CGM report.
// No build step, no library: the charts are SVG drawn from what the API computed.
"use strict";

const MGDL_PER_MMOL = 18.01559; // molar mass of glucose: 180.1559 g/mol
const PERIODS = [1, 7, 14, 30];
const RANGES = [
  // key in a summary period, label, colour variable, [low, high) in mmol/L
  ["inVeryLow", "Very low", "--vlow", "below 3.0"],
  ["inLow", "Low", "--low", "3.0–3.9"],
  ["inTarget", "In range", "--target", "3.9–10.0"],
  ["inHigh", "High", "--high", "10.0–13.9"],
  ["inVeryHigh", "Very high", "--vhigh", "above 13.9"],
];
const RANGE_BOUNDS = { "below 3.0": [null, 3.0], "3.0–3.9": [3.0, 3.9], "3.9–10.0": [3.9, 10.0],
  "10.0–13.9": [10.0, 13.9], "above 13.9": [13.9, null] };
const TIDE = [
  ["timeInVeryLowPercent", (u) => `Very low: more than 1% of time below ${g(3.0, u)}`],
  ["timeInAnyLowPercent", (u) => `Any low: more than 4% of time below ${g(3.9, u)}`],
  ["timeInVeryHighPercent", (u) => `Very high: more than 5% of time above ${g(13.9, u)}`],
  ["timeInAnyHighPercent", (u) => `Any high: more than 25% of time above ${g(10.0, u)}`],
  ["dropInTimeInTargetPercent", () => "Drop in time in range: more than 15 points"],
  ["timeCGMUsePercent", () => "Low CGM wear: less than 70%"],
  ["meetingTargets", () => "Meeting targets"],
  ["noData", () => "No recent data"],
];
const COLUMNS = [
  // [sort key of the API, header, how a row shows it]
  ["fullName", "Patient", null],
  ["cgm.timeInVeryLowPercent", "Very low", "pct"],
  ["cgm.timeInAnyLowPercent", "Any low", "pct"],
  ["cgm.timeInTargetPercent", "In range", "pct"],
  ["cgm.timeInAnyHighPercent", "Any high", "pct"],
  ["cgm.timeInVeryHighPercent", "Very high", "pct"],
  ["cgm.timeCGMUsePercent", "CGM wear", "pct"],
  ["cgm.averageGlucoseMmol", "Mean glucose", "glucose"],
  ["cgm.glucoseManagementIndicator", "GMI", "gmi"],
  ["cgm.coefficientOfVariation", "CV", "pct"],
  ["lastData", "Last data", "date"],
];
const FILTERABLE = COLUMNS.filter((c) => c[2] && c[2] !== "date");

// ------------------------------------------------------------------ state and helpers
const state = {
  token: sessionStorage.getItem("tidewater.token"),
  user: JSON.parse(sessionStorage.getItem("tidewater.user") || "null"),
  units: localStorage.getItem("tidewater.units") || "mg/dL",
};
const $ = (sel, root = document) => root.querySelector(sel);
const SVG = "http://www.w3.org/2000/svg";

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) if (c) el.append(c);
  return el;
}

function put(root, ...children) {
  root.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

function colour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function glucose(mmol, units = state.units) {
  return units === "mg/dL" ? mmol * MGDL_PER_MMOL : mmol;
}

function g(mmol, units = state.units, withUnits = true) {
  if (mmol === null || mmol === undefined) return "–";
  const text = units === "mg/dL" ? Math.round(glucose(mmol, units)).toString() : mmol.toFixed(1);
  return withUnits ? `${text} ${units}` : text;
}

function pct(fraction, digits = 1) {
  return fraction === null || fraction === undefined ? "–" : `${(fraction * 100).toFixed(digits)}%`;
}

function day(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

function say(text) {
  $("#status").textContent = text;
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers["X-Tidepool-Session-Token"] = state.token;
  const reply = await fetch(path, { ...options, headers });
  if (reply.status === 401) {
    forget();
    location.hash = "#/login";
    throw new ApiError(401, "Your session has ended: log in again.");
  }
  if (!reply.ok) {
    let detail = `${reply.status}`;
    try {
      const body = await reply.json();
      detail = body.errors?.[0]?.detail || body.message || detail;
    } catch (_) { /* not JSON */ }
    throw new ApiError(reply.status, detail);
  }
  return { body: reply.status === 204 ? null : await reply.json(), headers: reply.headers };
}

function forget() {
  state.token = null;
  state.user = null;
  sessionStorage.removeItem("tidewater.token");
  sessionStorage.removeItem("tidewater.user");
}

const isClinician = () => (state.user?.roles || []).includes("clinic");

// A route is the hash: #/<view>/<id>?<query>. It holds the view's whole state.
function route() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  return { parts: path.split("/").filter(Boolean), query: new URLSearchParams(query) };
}

function go(path, query) {
  const q = query && query.toString();
  location.hash = `#${path}${q ? `?${q}` : ""}`;
}

// ------------------------------------------------------------------ views
// Each render draws into a detached view, shown only if the route is still the one it was
// drawn for: a slow answer never replaces the page of a later click.
async function render() {
  const started = location.hash;
  const view = h("div", { class: "view" });
  await draw(view);
  if (location.hash !== started || !view.childNodes.length) return;
  put($("#main"), view);
  view.querySelector("form.login input")?.focus();
}

async function draw(main) {
  const { parts, query } = route();
  say("");
  stopPopulationRefresh(); // web/population.js: its page refreshes itself while shown
  renderChrome(parts);
  if (!state.token) {
    if (parts[0] !== "login") return go("/login");
    return showLogin(main);
  }
  try {
    if (parts[0] === "login" || parts.length === 0) return home();
    if (parts[0] === "patient" && parts[1]) return await showPatient(main, parts[1], query);
    if (parts[0] === "population") return await showPopulation(main, query);
    if (!isClinician()) return go(`/patient/${state.user.userId}`);
    if (parts[0] === "clinics") return await showClinics(main);
    if (parts[0] === "clinic" && parts[1] && parts[2] === "tide") return await showTide(main, parts[1], query);
    if (parts[0] === "clinic" && parts[1] && parts[2] === "patients") return await showList(main, parts[1], query);
    return home();
  } catch (error) {
    if (error.status === 401) return;
    put(main, h("h1", { text: "Something went wrong" }),
      h("p", { class: "error", role: "alert", text: error.status === 403
        ? "You do not have access to this page." : error.message }));
  }
}

function home() {
  if (!isClinician()) return go(`/patient/${state.user.userId}`);
  const clinic = sessionStorage.getItem("tidewater.clinic");
  return clinic ? go(`/clinic/${clinic}/tide`) : go("/clinics");
}

function renderChrome(parts) {
  const signedIn = Boolean(state.token);
  $("#logout").hidden = !signedIn;
  $("#units").hidden = !signedIn;
  $("#who").textContent = signedIn ? state.user.username : "";
  for (const input of document.querySelectorAll('input[name="units"]')) input.checked = input.value === state.units;
  const nav = $("#nav");
  nav.replaceChildren();
  const clinic = sessionStorage.getItem("tidewater.clinic");
  if (!signedIn) return;
  const link = (href, text, current) => h("a", { href, text, "aria-current": current ? "page" : null });
  if (isClinician()) {
    nav.append(link("#/clinics", "Clinics", parts[0] === "clinics"));
    if (clinic) {
      nav.append(link(`#/clinic/${clinic}/tide`, "TIDE", parts[2] === "tide"),
        link(`#/clinic/${clinic}/patients`, "Patients", parts[2] === "patients"));
    }
  } else {
    nav.append(link(`#/patient/${state.user.userId}`, "My data", parts[0] === "patient"));
  }
  nav.append(link("#/population?hours=3", "Population", parts[0] === "population"));
}

function showLogin(main) {
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", text: "Log in" }),
    h("label", { class: "field" }, "Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    h("label", { class: "field" }, "Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit", text: "Log in" }), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const email = form.email.value.trim();
    const basic = btoa(unescape(encodeURIComponent(`${email}:${form.password.value}`)));
    try {
      const { body, headers } = await api("/auth/login", { method: "POST", headers: { Authorization: `Basic ${basic}` } });
      state.token = headers.get("X-Tidepool-Session-Token");
      state.user = { userId: body.userId, username: body.username, roles: body.roles || [] };
      sessionStorage.setItem("tidewater.token", state.token);
      sessionStorage.setItem("tidewater.user", JSON.stringify(state.user));
      home();
    } catch (e) {
      error.textContent = e.status === 401 || e.status === 403 ? "Email or password is wrong." : e.message;
    }
  });
  put(main, form);
}

async function logout() {
  try {
    await api("/auth/logout", { method: "POST" });
  } catch (_) { /* the token is dropped whatever the answer */ }
  forget();
  sessionStorage.removeItem("tidewater.clinic");
  go("/login");
}

async function showClinics(main) {
  const { body } = await api(`/v1/clinicians/${state.user.userId}/clinics`);
  if (body.length === 1) {
    sessionStorage.setItem("tidewater.clinic", body[0].clinic.id);
    return go(`/clinic/${body[0].clinic.id}/tide`);
  }
  put(main, h("h1", { text: "Your clinics" }),
    body.length ? h("ul", {}, body.map((c) => h("li", {}, h("a", {
      href: `#/clinic/${c.clinic.id}/tide`, text: c.clinic.name,
      onclick: () => sessionStorage.setItem("tidewater.clinic", c.clinic.id) })))) : h("p", { class: "empty", text: "You are not a member of any clinic yet." }));
}

async function clinicName(clinicId) {
  sessionStorage.setItem("tidewater.clinic", clinicId);
  renderChrome(route().parts);
  const { body } = await api(`/v1/clinics/${clinicId}`);
  return body.data?.name || "Clinic";
}

function periodSwitch(current, onChange, label = "Period") {
  return h("fieldset", { class: "switch period" }, h("legend", { text: label }),
    PERIODS.map((d) => h("label", {}, h("input", { type: "radio", name: "period", value: `${d}`,
      checked: d === current, onchange: () => onChange(d) }), ` ${d} day${d > 1 ? "s" : ""}`)));
}

function periodOf(query, key = "period") {
  const days = parseInt((query.get(key) || "14").replace("d", ""), 10);
  return PERIODS.includes(days) ? days : 14;
}

// The five ranges as one stacked bar; the label carries every number it shows.
function tirBar(fractions, width = 160, height = 14) {
  const parts = RANGES.map(([key, label, css]) => [label, css, fractions[key] || 0]);
  const text = parts.map(([label, , f]) => `${label} ${pct(f)}`).join(", ");
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `Time in ranges: ${text}` },
    s("title", {}, document.createTextNode(`Time in ranges: ${text}`)));
  let x = 0;
  const total = parts.reduce((a, p) => a + p[2], 0) || 1;
  for (const [label, css, f] of parts) {
    const w = (f / total) * width;
    if (w > 0) svg.append(s("rect", { x, y: 0, width: w, height, fill: colour(css), "data-range": label }));
    x += w;
  }
  return svg;
}

function legend() {
  return h("ul", { class: "legend", "aria-label": "Ranges" }, RANGES.map(([, label, css, range]) => h("li", {},
    h("span", { class: "swatch", "data-css": css }), `${label} (${rangeText(range)})`)));
}

function rangeText(range) {
  const [lo, hi] = RANGE_BOUNDS[range];
  if (lo === null) return `below ${g(hi)}`;
  if (hi === null) return `above ${g(lo)}`;
  return `${g(lo, state.units, false)}–${g(hi)}`;
}

function paintSwatches(root) {
  for (const el of root.querySelectorAll(".swatch")) el.style.background = el.dataset.colour || colour(el.dataset.css);
}

function tideFractions(row) {
  return { inVeryLow: row.timeInVeryLowPercent, inLow: row.timeInLowPercent, inTarget: row.timeInTargetPercent,
    inHigh: row.timeInHighPercent, inVeryHigh: (row.timeInVeryHighPercent || 0) };
}

async function showTide(main, clinicId, query) {
  const days = periodOf(query);
  const name = await clinicName(clinicId);
  // As Tidepool's web app asks: a patient whose last data is older than the period is
  // "no recent data", not judged on a period that ended long ago.
  const cutoff = new Date(Date.now() - days * 86400000).toISOString();
  const tideQuery = new URLSearchParams({ period: `${days}d`, lastDataCutoff: cutoff });
  const { body } = await api(`/v1/clinics/${clinicId}/tide_report?${tideQuery}`);
  const results = body.results || {};
  const count = Object.values(results).reduce((a, r) => a + r.length, 0);
  const tables = TIDE.map(([key, label]) => {
    const rows = results[key] || [];
    const id = `tide-${key}`;
    return h("table", { class: "tide", id, "data-category": key },
      h("caption", { text: `${label(state.units)} (${rows.length})` }),
      h("thead", {}, h("tr", {}, ["Patient", "Time in ranges", "Very low", "Any low", "In range", "Any high", "CGM wear", "Last data"]
        .map((t, i) => h("th", { scope: "col", class: i > 1 && i < 7 ? "num" : null, text: t })))),
      h("tbody", {}, rows.length ? rows.map((r) => h("tr", {},
        h("th", { scope: "row" }, h("a", { href: `#/patient/${r.patient.id}?clinic=${clinicId}&days=${days}`, text: r.patient.fullName })),
        h("td", { class: "tir-cell" }, key === "noData" ? h("span", { class: "empty", text: "no data" }) : tirBar(tideFractions(r))),
        h("td", { class: "num", text: pct(r.timeInVeryLowPercent) }),
        h("td", { class: "num", text: pct(r.timeInAnyLowPercent) }),
        h("td", { class: "num", text: pct(r.timeInTargetPercent) }),
        h("td", { class: "num", text: pct(r.timeInAnyHighPercent) }),
        h("td", { class: "num", text: pct(r.timeCGMUsePercent) }),
        h("td", { text: day(r.lastData) }))) : h("tr", {}, h("td", { colspan: 8, class: "empty", text: "No patient" }))));
  });
  put(main, h("h1", { text: `TIDE triage — ${name}` }),
    h("div", { class: "controls" }, periodSwitch(days, (d) => go(`/clinic/${clinicId}/tide`, new URLSearchParams({ period: `${d}d` }))), legend()),
    h("p", { text: `${count} patients, each in the first category that applies, over the last ${days} day${days > 1 ? "s" : ""}.` }),
    tables);
  paintSwatches(main);
}

function cell(kind, value) {
  if (value === null || value === undefined) return "–";
  if (kind === "pct") return pct(value);
  if (kind === "glucose") return g(value);
  if (kind === "gmi") return `${value.toFixed(1)}%`;
  if (kind === "date") return day(value);
  return `${value}`;
}

// A filter's number as typed (percent, the page's units) → as the API takes it.
function toApi(kind, number) {
  if (kind === "pct") return number / 100;
  if (kind === "glucose") return state.units === "mg/dL" ? number / MGDL_PER_MMOL : number;
  return number;
}
function fromApi(kind, number) {
  if (kind === "pct") return +(number * 100).toFixed(2);
  if (kind === "glucose") return state.units === "mg/dL" ? Math.round(number * MGDL_PER_MMOL) : +number.toFixed(1);
  return number;
}

async function showList(main, clinicId, query) {
  const days = periodOf(query);
  const sort = query.get("sort") || "fullName";
  const limit = parseInt(query.get("limit") || "10", 10);
  const offset = parseInt(query.get("offset") || "0", 10);
  const search = query.get("search") || "";
  const filters = [...query.entries()].filter(([k]) => FILTERABLE.some((c) => c[0] === k));
  const name = await clinicName(clinicId);
  const params = new URLSearchParams({ period: `${days}d`, sort, limit, offset });
  if (search) params.set("search", search);
  for (const [k, v] of filters) params.set(k, v);
  const { body } = await api(`/v1/clinics/${clinicId}/patients?${params}`);
  const change = (updates) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(updates)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    if (!("offset" in updates)) next.delete("offset");
    go(`/clinic/${clinicId}/patients`, next);
  };
  const sortKey = sort.replace(/^[-+]/, "");
  const descending = sort.startsWith("-");
  const head = COLUMNS.map(([key, label, kind]) => {
    const active = key === sortKey;
    const next = active && !descending ? `-${key}` : key;
    return h("th", { scope: "col", class: kind && kind !== "date" ? "num" : null,
      "aria-sort": active ? (descending ? "descending" : "ascending") : null },
      h("button", { type: "button", "data-sort": key, text: label + (active ? (descending ? " ▼" : " ▲") : ""),
        "aria-label": `Sort by ${label}${active ? (descending ? ", sorted descending" : ", sorted ascending") : ""}`,
        onclick: () => change({ sort: next }) }));
  });
  const rows = body.data.map((p) => h("tr", {}, COLUMNS.map(([key, , kind]) => key === "fullName"
    ? h("th", { scope: "row" }, h("a", { href: `#/patient/${p.userId || p.id}?clinic=${clinicId}&days=${days}`, text: p.fullName }))
    : h("td", { class: kind !== "date" ? "num" : null, text: cell(kind, key === "lastData" ? p.lastData : p.metrics?.[key]) }))));
  const { count, totalCount } = body.meta;
  const first = count ? offset + 1 : 0;
  const last = offset + body.data.length;

  const metric = h("select", { name: "metric", "aria-label": "Filter on" }, FILTERABLE.map(([k, label]) => h("option", { value: k, text: label })));
  const op = h("select", { name: "op", "aria-label": "Comparison" }, [">", ">=", "<", "<="].map((o) => h("option", { value: o, text: o })));
  const value = h("input", { name: "value", type: "number", step: "any", required: true, "aria-label": "Value (percent, or glucose in the page's units)", size: 6 });
  const filterForm = h("form", { class: "filters", "aria-label": "Filters" },
    h("label", { class: "field" }, "Search names", h("input", { name: "search", type: "search", value: search })),
    h("fieldset", {}, h("legend", { text: "Add a filter" }), metric, op, value),
    h("button", { type: "submit", text: "Apply" }));
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const updates = { search: filterForm.search.value.trim() };
    if (value.value !== "") {
      const kind = FILTERABLE.find((c) => c[0] === metric.value)[2];
      updates[metric.value] = `${op.value}${+toApi(kind, parseFloat(value.value)).toFixed(6)}`;
    }
    change(updates);
  });
  value.required = false;
  const active = filters.map(([k, v]) => {
    const [, label, kind] = COLUMNS.find((c) => c[0] === k);
    const [, o, n] = v.match(/^(>=|<=|>|<)(.*)$/) || [null, v, ""];
    const shown = `${label} ${o} ${fromApi(kind, parseFloat(n))}${kind === "pct" || kind === "gmi" ? "%" : kind === "glucose" ? ` ${state.units}` : ""}`;
    return h("li", {}, shown, " ", h("button", { type: "button", text: "Remove", "aria-label": `Remove filter ${shown}`, onclick: () => change({ [k]: null }) }));
  });
  put(main, h("h1", { text: `Patients — ${name}` }),
    h("div", { class: "controls" }, periodSwitch(days, (d) => change({ period: `${d}d` })), filterForm),
    active.length ? h("ul", { class: "active-filters", "aria-label": "Active filters" }, active) : null,
    h("table", { class: "patients" }, h("caption", { text: `Patients, last ${days} day${days > 1 ? "s" : ""}` }),
      h("thead", {}, h("tr", {}, head)),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: COLUMNS.length, class: "empty", text: "No patient matches." })))),
    h("div", { class: "pager" },
      h("p", { class: "counts", text: `Showing ${first}–${last} of ${count} matching (${totalCount} in the clinic)` }),
      h("button", { type: "button", text: "Previous page", disabled: offset === 0, onclick: () => change({ offset: Math.max(0, offset - limit) }) }),
      h("button", { type: "button", text: "Next page", disabled: last >= count, onclick: () => change({ offset: offset + limit }) }),
      h("label", {}, "Per page ", h("select", { onchange: (e) => change({ limit: e.target.value }) },
        [10, 25, 50, 100].map((n) => h("option", { value: n, text: n, selected: n === limit }))))));
}

// ------------------------------------------------------------------ the patient page
async function showPatient(main, userId, query) {
  const days = periodOf(query, "days");
  const clinicId = query.get("clinic");
  const [profile, summary, agp, compared] = await Promise.all([
    clinicId ? api(`/v1/clinics/${clinicId}/patients/${userId}`).then((r) => r.body.fullName)
      : api(`/v1/users/${userId}`).then((r) => r.body.data.fullName),
    api(`/v1/users/${userId}/summary`).then((r) => r.body),
    api(`/v1/users/${userId}/agp?days=${days}`).then((r) => r.body.data),
    api(`/v1/users/${userId}/sources/compare?days=${days}`).then((r) => r.body.data),
  ]);
  const period = summary.cgm?.periods?.[`${days}d`] || null;
  const switchTo = (d) => {
    const next = new URLSearchParams(query);
    next.set("days", d);
    go(`/patient/${userId}`, next);
  };
  put(main, 
    h("h1", { text: profile }),
    h("p", { text: `CGM report, ${days} day${days > 1 ? "s" : ""}: ${day(agp.start)} to ${day(agp.end)}; ${agp.readings} readings on ${agp.daysWithData} days.` }),
    h("div", { class: "controls" }, periodSwitch(days, switchTo)),
    h("section", { "aria-labelledby": "tir-title", class: "stats" },
      h("div", {}, h("h2", { id: "tir-title", text: "Time in ranges" }), tirSection(period)),
      h("div", {}, h("h2", { text: "Glucose statistics" }), statsTable(period, days))),
    h("section", { "aria-labelledby": "agp-title" }, h("h2", { id: "agp-title", text: "Ambulatory glucose profile (AGP)" }), agpChart(agp)),
    h("section", { "aria-labelledby": "daily-title" }, h("h2", { id: "daily-title", text: "Daily glucose" }), dailyCharts(agp)),
    h("section", { "aria-labelledby": "sources-title" }, h("h2", { id: "sources-title", text: "CGM sources" }), sourcesSection(compared, agp.target)));
  paintSwatches(main);
}

// ------------------------------------------------------------------ comparing CGM sources
const SOURCE_COLOURS = ["#0b3d75", "#e6550d", "#6a3d9a", "#1b9e77"];

function sourcesSection(compared, target) {
  const { sources, pairs } = compared;
  if (!sources.length) return h("p", { class: "empty", text: "No CGM data in this period." });
  if (!pairs.length) {
    return h("p", { class: "empty", text: sources.length === 1
      ? `One CGM source in this period (${sources[0].deviceId}): nothing to compare.`
      : "The CGM sources of this period have no readings within 2.5 minutes of each other." });
  }
  // The overlay covers where the first pair overlaps: both sources are there.
  const shown = pairs[0];
  const start = Date.parse(shown.overlapStart), end = Math.max(Date.parse(shown.overlapEnd), start + 3_600_000);
  const width = 900, height = 300, pad = { l: 44, r: 12, t: 10, b: 22 };
  const yMax = 22.2;
  const x = (ms) => pad.l + ((ms - start) / (end - start)) * (width - pad.l - pad.r);
  const y = (mmol) => pad.t + (1 - Math.min(mmol, yMax) / yMax) * (height - pad.t - pad.b);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", id: "sources-chart",
    "aria-label": `Readings of ${sources.length} CGM sources from ${day(shown.overlapStart)} to ${day(shown.overlapEnd)}, one line each; the target range is shaded. The pairs' agreement is in the table below.` });
  svg.append(s("rect", { class: "target", x: x(start), y: y(target.high), width: x(end) - x(start), height: y(target.low) - y(target.high),
    fill: "#2e9e4f", "fill-opacity": 0.14, stroke: "#2e9e4f", "stroke-dasharray": "4 3" }));
  for (const t of [3.0, target.low, target.high, 13.9]) {
    svg.append(s("line", { x1: x(start), x2: x(end), y1: y(t), y2: y(t), stroke: "#0002" }));
    const label = s("text", { x: pad.l - 4, y: y(t) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6675" });
    label.textContent = g(t, state.units, false);
    svg.append(label);
  }
  const hour = 3_600_000;
  const step = [1, 3, 6, 12, 24, 48, 96].find((n) => (end - start) / (n * hour) <= 8) * hour || 168 * hour;
  for (let at = Math.ceil(start / step) * step; at <= end - step / 4; at += step) {
    const label = s("text", { x: x(at), y: height - 4, "text-anchor": "middle", "font-size": 11, fill: "#5b6675" });
    label.textContent = new Date(at).toLocaleString("en-GB", { weekday: "short", hour: "2-digit", minute: "2-digit" });
    svg.append(label);
  }
  sources.forEach((source, i) => {
    const inView = source.points.map(([time, mgdl]) => [Date.parse(time), mgdl / MGDL_PER_MMOL]).filter(([t]) => t >= start && t <= end);
    for (const run of runs(inView, () => true, (a, b) => b[0] - a[0] <= 15 * 60_000)) {
      svg.append(s("polyline", { class: "source-line", "data-device": source.deviceId, fill: "none",
        stroke: SOURCE_COLOURS[i % SOURCE_COLOURS.length], "stroke-width": 1.6, points: run.map(([t, v]) => `${x(t)},${y(v)}`).join(" ") }));
    }
  });
  const key = h("ul", { class: "legend sources-legend" }, sources.map((source, i) =>
    h("li", {}, h("span", { class: "swatch", "data-colour": SOURCE_COLOURS[i % SOURCE_COLOURS.length] }), `${source.deviceId} (${source.readings} readings)`)));
  const mgdl = (v) => `${v > 0 ? "+" : v < 0 ? "−" : "±"}${Math.abs(v).toFixed(1)} mg/dL`;
  const table = h("table", { class: "sources-table" }, h("caption", { text: "Agreement of each pair of sources (readings paired within 2.5 minutes)" }),
    h("thead", {}, h("tr", {}, ["Sources", "Pairs", "MARD, second as reference", "MARD, first as reference", "Mean difference (first − second)", "Within 15 mg/dL / 15 %"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, pairs.map((p) => h("tr", {}, h("th", { scope: "row", text: `${p.first} vs ${p.second}` }),
      h("td", { class: "num", text: p.pairs }), h("td", { class: "num", text: pct(p.mardFirstToSecond) }),
      h("td", { class: "num", text: pct(p.mardSecondToFirst) }), h("td", { class: "num", text: mgdl(p.bias) }),
      h("td", { class: "num", text: `${pct(p.within15FirstToSecond, 0)} / ${pct(p.within15SecondToFirst, 0)}` })))));
  return h("div", {}, h("div", { class: "chart" }, svg), key, table);
}

function tirSection(period) {
  if (!period || !period.total?.records) return h("p", { class: "empty", text: "No CGM data in this period." });
  const width = 90, height = 260;
  const svg = s("svg", { class: "tir-column", viewBox: `0 0 300 ${height}`, role: "img",
    "aria-label": "Time in ranges: " + RANGES.map(([k, label]) => `${label} ${pct(period[k]?.percent)}`).join(", ") });
  let y = 0;
  let labelY = -Infinity;
  const labels = [];
  for (const [key, label, css] of [...RANGES].reverse()) {
    const f = period[key]?.percent || 0;
    const hgt = f * height;
    svg.append(s("rect", { x: 0, y, width, height: Math.max(hgt, 0), fill: colour(css) }));
    labelY = Math.max(y + hgt / 2 + 4, labelY + 18, 14); // labels never overlap a neighbour
    labels.push([labelY, `${label}: ${pct(f)}`]);
    y += hgt;
  }
  const overflow = Math.max(0, labels[labels.length - 1][0] - (height - 4));
  for (const [at, text] of labels) {
    const el = s("text", { x: width + 10, y: at - overflow, "font-size": 13 });
    el.textContent = text;
    svg.append(el);
  }
  const table = h("table", { class: "tir-table" }, h("caption", { text: "Time in ranges" }),
    h("thead", {}, h("tr", {}, ["Range", "Glucose", "Time", "Change"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, RANGES.map(([key, label, , range]) => h("tr", {}, h("th", { scope: "row", text: label }),
      h("td", { text: rangeText(range) }), h("td", { class: "num", text: pct(period[key]?.percent) }),
      h("td", { class: "num" }, delta(period.delta?.[key]?.percent, (v) => `${(v * 100).toFixed(1)} pts`))))));
  return h("div", {}, h("div", { class: "chart" }, svg), table);
}

function delta(value, format) {
  if (value === null || value === undefined) return "–";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  return h("span", { class: value > 0 ? "delta-up" : value < 0 ? "delta-down" : null, text: `${sign}${format(Math.abs(value))}` });
}

function statsTable(period, days) {
  if (!period || !period.total?.records) return h("p", { class: "empty", text: "No CGM data in this period." });
  const d = period.delta || {};
  const rows = [
    ["Mean glucose", g(period.averageGlucoseMmol), delta(d.averageGlucoseMmol, (v) => g(v))],
    ["GMI", period.glucoseManagementIndicator != null ? `${period.glucoseManagementIndicator.toFixed(1)}%` : "–",
      delta(d.glucoseManagementIndicator, (v) => `${v.toFixed(1)} pts`)],
    ["Glucose variability (CV)", pct(period.coefficientOfVariation), delta(d.coefficientOfVariation, (v) => `${(v * 100).toFixed(1)} pts`)],
    ["CGM wear", pct(period.timeCGMUsePercent), delta(d.timeCGMUsePercent, (v) => `${(v * 100).toFixed(1)} pts`)],
  ];
  return h("table", { class: "glucose-stats" }, h("caption", { text: `Last ${days} days, and the change from the ${days} days before` }),
    h("thead", {}, h("tr", {}, ["Measure", "Value", "Change"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.map(([label, value, change]) => h("tr", {}, h("th", { scope: "row", text: label }),
      h("td", { class: "num", text: value }), h("td", { class: "num" }, change)))));
}

function hhmm(minute) {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

// The chart's frame: glucose axis in the page's units, hours of the day, the target shaded.
function frame(width, height, pad, yMax, target, small = false) {
  const x = (minute) => pad.l + (minute / 1440) * (width - pad.l - pad.r);
  const y = (mmol) => pad.t + (1 - Math.min(mmol, yMax) / yMax) * (height - pad.t - pad.b);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}` });
  svg.append(s("rect", { class: "target", x: x(0), y: y(target.high), width: x(1440) - x(0), height: y(target.low) - y(target.high), fill: "#2e9e4f", "fill-opacity": 0.14, stroke: "#2e9e4f", "stroke-dasharray": "4 3" }));
  const ticks = small ? [target.low, target.high] : [3.0, target.low, target.high, 13.9, ...(yMax > 20 ? [22.2] : [])];
  for (const t of ticks) {
    svg.append(s("line", { x1: x(0), x2: x(1440), y1: y(t), y2: y(t), stroke: "#0002" }));
    const label = s("text", { x: pad.l - 4, y: y(t) + 4, "text-anchor": "end", "font-size": small ? 9 : 11, fill: "#5b6675" });
    label.textContent = g(t, state.units, false);
    svg.append(label);
  }
  for (let hour = 0; hour <= 24; hour += small ? 6 : 3) {
    const label = s("text", { x: x(hour * 60), y: height - 4, "text-anchor": "middle", "font-size": small ? 9 : 11, fill: "#5b6675" });
    label.textContent = hour === 24 ? "24:00" : hhmm(hour * 60);
    svg.append(label);
  }
  return { svg, x, y };
}

// Runs of consecutive non-empty bins: an empty bin is a gap, never drawn across.
function runs(items, present, near = () => true) {
  const out = [];
  let run = [];
  for (const item of items) {
    if (present(item) && (run.length === 0 || near(run[run.length - 1], item))) run.push(item);
    else {
      if (run.length) out.push(run);
      run = present(item) ? [item] : [];
    }
  }
  if (run.length) out.push(run);
  return out;
}

function agpChart(agp) {
  if (!agp.readings) return h("p", { class: "empty", text: "No CGM data in this period." });
  const width = 900, height = 340, pad = { l: 44, r: 12, t: 10, b: 22 };
  const top = Math.max(...agp.bins.filter((b) => b.count).map((b) => b.p95), 13.9);
  const yMax = top > 19.4 ? 22.2 : 19.4;
  const { svg, x, y } = frame(width, height, pad, yMax, agp.target);
  const mid = (b) => x(b.minute + agp.binMinutes / 2);
  const band = (lo, hi, fill, cls) => {
    for (const run of runs(agp.bins, (b) => b.count > 0)) {
      const points = [...run.map((b) => `${mid(b)},${y(b[hi])}`), ...[...run].reverse().map((b) => `${mid(b)},${y(b[lo])}`)];
      svg.append(s("polygon", { class: cls, points: points.join(" "), fill }));
    }
  };
  band("p5", "p95", colour("--band-outer"), "band band-5-95");
  band("p25", "p75", colour("--band-inner"), "band band-25-75");
  for (const run of runs(agp.bins, (b) => b.count > 0)) {
    svg.append(s("polyline", { class: "median", points: run.map((b) => `${mid(b)},${y(b.p50)}`).join(" "), fill: "none", stroke: colour("--median"), "stroke-width": 2.5 }));
  }
  const withData = agp.bins.filter((b) => b.count > 0);
  const lowest = withData.reduce((a, b) => (b.p50 < a.p50 ? b : a));
  const highest = withData.reduce((a, b) => (b.p50 > a.p50 ? b : a));
  const alt = `AGP of ${agp.readings} readings over ${agp.days} days, by time of day: the median runs from ${g(lowest.p50)} at ${hhmm(lowest.minute)} to ${g(highest.p50)} at ${hhmm(highest.minute)}; the target range ${g(agp.target.low, state.units, false)}–${g(agp.target.high)} is shaded. Every value is in the table below.`;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", alt);
  svg.setAttribute("id", "agp");
  const key = h("ul", { class: "legend" },
    h("li", {}, h("span", { class: "swatch", "data-css": "--band-outer" }), "5th–95th percentile"),
    h("li", {}, h("span", { class: "swatch", "data-css": "--band-inner" }), "25th–75th percentile"),
    h("li", {}, h("span", { class: "swatch", "data-css": "--median" }), "Median (thick line)"),
    h("li", {}, h("span", { class: "swatch", "data-css": "--target" }), `Target range (shaded, dashed edges)`));
  const table = h("table", { class: "agp-table" }, h("caption", { text: `AGP by ${agp.binMinutes}-minute bin (${state.units})` }),
    h("thead", {}, h("tr", {}, ["Time", "Readings", "5th", "25th", "Median", "75th", "95th"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, agp.bins.map((b) => h("tr", {}, h("th", { scope: "row", text: hhmm(b.minute) }), h("td", { class: "num", text: b.count }),
      ["p5", "p25", "p50", "p75", "p95"].map((p) => h("td", { class: "num", text: b.count ? g(b[p], state.units, false) : "–" }))))));
  return h("div", {}, h("div", { class: "chart" }, svg), key, h("details", {}, h("summary", { text: "The AGP as a table" }), table));
}

function dailyCharts(agp) {
  if (!agp.daily.length) return h("p", { class: "empty", text: "No CGM data in this period." });
  const width = 260, height = 110, pad = { l: 28, r: 4, t: 4, b: 14 };
  const cards = [...agp.daily].reverse().map((d) => {
    const { svg, x, y } = frame(width, height, pad, 22.2, agp.target, true);
    for (const run of runs(d.points, () => true, (a, b) => b[0] - a[0] <= 15)) {
      svg.append(s("polyline", { points: run.map(([m, v]) => `${x(m)},${y(v)}`).join(" "), fill: "none", stroke: colour("--median"), "stroke-width": 1.2 }));
    }
    const values = d.points.map((p) => p[1]);
    const inRange = values.filter((v) => v >= agp.target.low && v <= agp.target.high).length;
    const mean = values.reduce((a, v) => a + v, 0) / (values.length || 1);
    const text = `${d.date}: ${values.length} readings, from ${g(Math.min(...values))} to ${g(Math.max(...values))}, mean ${g(mean)}, ${pct(inRange / (values.length || 1), 0)} in range`;
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", text);
    return h("figure", { class: "card daily" }, h("h3", { text: new Date(`${d.date}T12:00:00Z`).toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short" }) }), svg,
      h("figcaption", { class: "sr-caption", text: text.split(": ")[1] }));
  });
  return h("div", { class: "grid" }, cards);
}

// ------------------------------------------------------------------ wiring
document.addEventListener("DOMContentLoaded", () => {
  $("#logout").addEventListener("click", logout);
  for (const input of document.querySelectorAll('input[name="units"]')) {
    input.addEventListener("change", () => {
      state.units = input.value;
      localStorage.setItem("tidewater.units", state.units);
      render();
    });
  }
  window.addEventListener("hashchange", () => render().then(() => $("#main").focus({ preventScroll: true })));
  window.addEventListener("storage", (event) => event.key === "tidewater.units" && render());
  render();
});
