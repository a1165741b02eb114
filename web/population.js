// The population view: the glucose of everyone who shares it, each under a colour hash
// (the API's six hex digits), over the last hours; nothing else about anyone. Drawn with
// app.js's helpers (h, s, put, api, g, go); redrawn every minute while it is the page shown.
"use strict";

const POPULATION_HOURS = [1, 3, 6, 12, 24];
const POPULATION_TARGET_MGDL = [70, 180];
const POPULATION_K = 5; // the API shows nobody below this many people (settings.py)
const POPULATION_REFRESH_MS = 60_000;
let populationTimer = null;

function stopPopulationRefresh() {
  clearTimeout(populationTimer);
  populationTimer = null;
}

// What the summary says: people, readings and the share of readings in 70–180 mg/dL.
function populationFigures(data) {
  const values = data.flatMap((person) => person.points.map((p) => p.glucose));
  const [low, high] = POPULATION_TARGET_MGDL;
  const inRange = values.filter((v) => v >= low && v <= high).length;
  return { people: data.length, readings: values.length, inRange: values.length ? inRange / values.length : null };
}

async function showPopulation(main, query) {
  const asked = Number(query.get("hours"));
  const hours = POPULATION_HOURS.includes(asked) ? asked : 3;
  const { body } = await api(`/v1/population?hours=${hours}`);
  const data = body.data;
  const switchTo = (value) => go("/population", new URLSearchParams({ hours: value }));
  const chooser = h("fieldset", { class: "switch period" }, h("legend", { text: "Last" }),
    POPULATION_HOURS.map((n) => h("label", {}, h("input", { type: "radio", name: "hours", value: `${n}`,
      checked: n === hours, onchange: () => switchTo(n) }), ` ${n} h`)));
  const figures = populationFigures(data);
  const [low, high] = POPULATION_TARGET_MGDL;
  const range = `${g(low / MGDL_PER_MMOL, state.units, false)}–${g(high / MGDL_PER_MMOL)}`;
  const summary = data.length
    ? `${figures.people} people, ${pct(figures.inRange)} of readings in range (${range}), over the last ${hours} h.`
    : `Fewer than ${POPULATION_K} people share data in the last ${hours} h, so nobody is shown: a few people alone could be recognised.`;
  put(main,
    h("h1", { text: "Population" }),
    h("p", { text: "The glucose of everyone who shares it with the population view. Each person is a colour that changes every day; no name, account or device is shown." }),
    h("div", { class: "controls" }, chooser),
    h("p", { class: "population-summary", id: "population-summary", text: summary }),
    data.length ? populationChart(data, hours) : null,
    data.length ? populationTable(data) : null,
    h("p", { class: "updated", text: `Updated every minute; last at ${new Date().toLocaleTimeString("en-GB", { timeStyle: "short" })}.` }));
  paintSwatches(main);
  stopPopulationRefresh();
  populationTimer = setTimeout(() => {
    populationTimer = null;
    if (route().parts[0] === "population") render();
  }, POPULATION_REFRESH_MS);
}

function populationChart(data, hours) {
  const width = 900, height = 340, pad = { l: 44, r: 12, t: 10, b: 22 };
  const end = Date.now(), start = end - hours * 3_600_000;
  const yMax = 400 / MGDL_PER_MMOL;
  const x = (ms) => pad.l + ((ms - start) / (end - start)) * (width - pad.l - pad.r);
  const y = (mgdl) => pad.t + (1 - Math.min(mgdl / MGDL_PER_MMOL, yMax) / yMax) * (height - pad.t - pad.b);
  const [low, high] = POPULATION_TARGET_MGDL;
  const figures = populationFigures(data);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", id: "population-chart",
    "aria-label": `Glucose of ${figures.people} people over the last ${hours} h, a colour each: ${figures.readings} readings, ${pct(figures.inRange)} in the target range (${g(low / MGDL_PER_MMOL, state.units, false)}–${g(high / MGDL_PER_MMOL)}), shaded. Each person's figures are in the table below.` });
  svg.append(s("rect", { class: "target", x: x(start), y: y(high), width: x(end) - x(start), height: y(low) - y(high),
    fill: "#2e9e4f", "fill-opacity": 0.14, stroke: "#2e9e4f", "stroke-dasharray": "4 3" }));
  for (const mgdl of [low, high, 250]) {
    svg.append(s("line", { x1: x(start), x2: x(end), y1: y(mgdl), y2: y(mgdl), stroke: "#0002" }));
    const label = s("text", { x: pad.l - 4, y: y(mgdl) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6675" });
    label.textContent = g(mgdl / MGDL_PER_MMOL, state.units, false);
    svg.append(label);
  }
  const step = hours <= 3 ? 30 : hours <= 6 ? 60 : hours <= 12 ? 120 : 240; // minutes between ticks
  const first = Math.ceil(start / (step * 60_000)) * step * 60_000;
  for (let at = first; at <= end - step * 15_000; at += step * 60_000) {
    const label = s("text", { x: x(at), y: height - 4, "text-anchor": "middle", "font-size": 11, fill: "#5b6675" });
    label.textContent = new Date(at).toLocaleTimeString("en-GB", { timeStyle: "short" });
    svg.append(label);
  }
  for (const person of data) {
    const group = s("g", { class: "person", "data-hash": person.hash, fill: `#${person.hash}`, stroke: "#0006", "stroke-width": 0.5 });
    for (const p of person.points) group.append(s("circle", { cx: x(Date.parse(p.time)), cy: y(p.glucose), r: 2.6 }));
    svg.append(group);
  }
  return h("div", { class: "chart" }, svg);
}

function populationTable(data) {
  const [low, high] = POPULATION_TARGET_MGDL;
  return h("details", {}, h("summary", { text: "Each person's figures" }),
    h("table", { class: "population-table" }, h("caption", { text: "By colour" }),
      h("thead", {}, h("tr", {}, ["Colour", "Readings", "Mean", "In range"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, data.map((person) => {
        const values = person.points.map((p) => p.glucose);
        const mean = values.reduce((a, v) => a + v, 0) / values.length;
        const inRange = values.filter((v) => v >= low && v <= high).length / values.length;
        return h("tr", {}, h("th", { scope: "row" }, h("span", { class: "swatch", "data-colour": `#${person.hash}` }), ` #${person.hash}`),
          h("td", { class: "num", text: values.length }), h("td", { class: "num", text: g(mean / MGDL_PER_MMOL) }),
          h("td", { class: "num", text: pct(inRange) }));
      }))));
}
