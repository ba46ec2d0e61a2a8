// Propylon Designer: edits one configuration in memory; the server checks, saves and tries it.
// Every input carries data-path, the JSON path the checker uses in its errors
// (endpoints[2].backend[0].url_pattern), so each error lands next to its field.
"use strict";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const ENCODINGS = ["json", "safejson", "xml", "rss", "string", "no-op"];
const OUTPUTS = ["json", "json-collection", "string", "no-op"];

const SERVICE_FIELDS = [
  ["name", "text", "Name shown in logs and the Server header"],
  ["port", "number", "Port to listen on (GATEWAY_BIND overrides it)"],
  ["timeout", "text", "Default endpoint timeout, e.g. 3s"],
  ["cache_ttl", "text", "Default Cache-Control max-age of GET answers, e.g. 60s"],
  ["output_encoding", OUTPUTS, "Default endpoint output encoding"],
  ["host", "list", "Default backend hosts, comma-separated"],
  ["extra_config", "rest", "Other service namespaces (telemetry, CORS, ...) as JSON, kept as written"],
];
const ENDPOINT_FIELDS = [
  ["endpoint", "text", "Path clients call; {name} marks a parameter"],
  ["method", METHODS, "Method clients use"],
  ["timeout", "text", "Deadline for all backend calls, e.g. 2s"],
  ["cache_ttl", "text", "Cache-Control max-age for GET answers"],
  ["output_encoding", OUTPUTS, "How the merged answer is encoded"],
  ["input_headers", "list", "Client headers passed to backends, comma-separated"],
  ["input_query_strings", "list", "Query strings passed to backends, comma-separated"],
  ["extra_config", "rest", "Other endpoint namespaces (modifier/martian, ...) as JSON, kept as written"],
];
const BACKEND_FIELDS = [
  ["host", "list", "Backend hosts, comma-separated (default: the service's)"],
  ["url_pattern", "text", "Path on the backend; may use the endpoint's {parameters}"],
  ["method", METHODS, "Method sent to the backend"],
  ["encoding", ENCODINGS, "How the backend answers"],
  ["target", "text", "Take only this field of the answer"],
  ["allow", "list", "Keep only these fields (dot paths), comma-separated"],
  ["deny", "list", "Drop these fields (dot paths), comma-separated"],
  ["mapping", "json", "Rename fields: {\"old\": \"new\"}"],
  ["group", "text", "Put the answer under this key"],
  ["is_collection", "checkbox", "The answer is an array (wrapped in \"collection\")"],
  ["extra_config", "rest", "Other backend namespaces (modifier/martian, ...) as JSON, kept as written"],
];

let config = {version: 3, endpoints: []};
let schema = {};  // namespace -> {scope, title, fields}: the forms of /api/schema
let checkTimer = null;
let checkSeq = 0;
const localErrors = new Map();  // data-path -> text of a field that does not parse

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function setStatus(text, kind = "") {
  const status = $("#status");
  status.textContent = text;
  status.className = kind;
}

async function api(method, url, body) {
  const response = await fetch(url, {
    method, headers: body === undefined ? {} : {"Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {status: response.status, body: await response.json()};
}

// --- fields -----------------------------------------------------------------

function fieldValue(type, raw) {
  if (type === "list") {
    const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
    return items.length ? items : undefined;
  }
  if (type === "json") return raw.trim() ? JSON.parse(raw) : undefined;
  if (type === "number") return raw.trim() ? Number(raw) : undefined;
  return raw === "" ? undefined : raw;
}

function formed(scope) {
  return Object.keys(schema).filter((name) => schema[name].scope.includes(scope));
}

// "rest": the keys of an object that no form edits (namespaces without a form, or
// keys a namespace form does not name); shown as JSON and merged back in key order.
function restOf(object, keys) {
  const rest = Object.fromEntries(Object.entries(object || {}).filter(([name]) => !keys.includes(name)));
  return Object.keys(rest).length ? rest : undefined;
}

function mergeRest(object, rest, keys) {
  const merged = {};
  for (const [name, value] of Object.entries(object || {})) {
    if (keys.includes(name)) merged[name] = value;
    else if (rest && name in rest) merged[name] = rest[name];
  }
  for (const [name, value] of Object.entries(rest || {})) if (!(name in merged)) merged[name] = value;
  return Object.keys(merged).length ? merged : undefined;
}

function fieldText(type, value) {
  if (value === undefined) return "";
  if (type === "list") return Array.isArray(value) ? value.join(", ") : String(value);
  if (type === "json") return JSON.stringify(value, null, 2);
  return String(value);
}

// A form field for owner[key]. `formedKeys` (type "rest") are the keys other fields edit;
// `attach` hangs a nested object on its parent once it has a key, and drops it when empty.
function field(owner, [key, type, help], path, formedKeys = [], attach = null) {
  const id = `f-${path}`;
  if (type && typeof type === "object" && !Array.isArray(type)) return nested(owner, key, type, help, path);
  const update = (event) => {
    let value;
    try {
      value = type === "checkbox" ? (event.target.checked || undefined)
        : type === "rest" ? mergeRest(owner[key], fieldValue("json", event.target.value), formedKeys)
        : fieldValue(type, event.target.value);
      if (type === "rest" && owner[key] && typeof owner[key] === "object") {
        // In place: the forms beside this box hold the same object. An emptied namespace
        // ("qos/http-cache": {}) still means something; an emptied container does not.
        for (const name of Object.keys(owner[key])) delete owner[key][name];
        Object.assign(owner[key], value || {});
        if (!value && !key.includes("/")) delete owner[key];
        localErrors.delete(path);
        if (attach) attach();
        changed(false);
        return;
      }
      localErrors.delete(path);
    } catch (error) {
      localErrors.set(path, `not valid JSON: ${error.message}`);
      showProblems(lastReport);
      return;
    }
    if (value === undefined) delete owner[key]; else owner[key] = value;
    if (attach) attach();
    changed(false);
  };
  let input;
  if (Array.isArray(type)) {
    input = el("select", {id, "data-path": path, onchange: update}, el("option", {value: ""}, "(default)"),
               ...type.map((option) => el("option", {value: option}, option)));
    const current = owner[key] === undefined ? "" : String(owner[key]);
    if (current && !type.includes(current)) input.append(el("option", {value: current}, current));
    input.value = current;
  } else if (type === "json" || type === "rest") {
    input = el("textarea", {id, "data-path": path, rows: "3", spellcheck: "false", oninput: update});
    input.value = fieldText("json", type === "rest" ? restOf(owner[key], formedKeys) : owner[key]);
  } else if (type === "checkbox") {
    input = el("input", {id, type: "checkbox", "data-path": path, onchange: update});
    input.checked = Boolean(owner[key]);
  } else {
    input = el("input", {id, type: type === "number" ? "number" : "text", "data-path": path, oninput: update});
    input.value = fieldText(type, owner[key]);
  }
  return el("div", {class: "field"}, el("label", {for: id, title: help}, key), input,
            el("small", {class: "help"}, help), el("div", {class: "error", "data-error-for": path}));
}

function nested(owner, key, type, help, path) {
  const sub = owner[key] && typeof owner[key] === "object" ? owner[key] : {};
  const attach = () => { if (Object.keys(sub).length) owner[key] = sub; else delete owner[key]; };
  const names = type.fields.map((spec) => spec[0]);
  return el("fieldset", {class: "nested", "data-path": path},
    el("legend", {title: help}, `${key}: ${help}`),
    ...type.fields.map((spec) => field(sub, spec, `${path}.${spec[0]}`, [], attach)),
    ...(restOf(sub, names) ? [field(owner, [key, "rest", "Other keys, as JSON"], `${path}.*`, names)] : []),
    el("div", {class: "error", "data-error-for": path}));
}

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

function notAnObject(list, index, path, what) {
  // Hand-written files can hold anything; the page shows it instead of failing, and the check names it.
  return el("div", {class: "broken", "data-path": path},
    el("span", {class: "error-text"}, `${path} is ${JSON.stringify(list[index])}, not an object: delete it or fix the file `),
    moveButtons(list, index, what), el("div", {class: "error", "data-error-for": path}));
}

function moveButtons(list, index, what) {
  const move = (delta) => () => {
    const target = index + delta;
    if (target < 0 || target >= list.length) return;
    [list[index], list[target]] = [list[target], list[index]];
    changed(true);
  };
  return el("span", {class: "tools"},
    el("button", {type: "button", title: `move ${what} up`, onclick: move(-1)}, "↑"),
    el("button", {type: "button", title: `move ${what} down`, onclick: move(1)}, "↓"),
    el("button", {type: "button", title: `delete ${what}`, class: "danger",
                  onclick: () => { list.splice(index, 1); changed(true); }}, "✕"));
}

const keysOf = (name) => schema[name].fields.map((spec) => spec[0]);
const under = (base, key) => (base ? `${base}.${key}` : key);

function namespaces(owner, scope, base) {
  // One form per formed namespace present in owner.extra_config, and a picker to add one.
  const extra = owner.extra_config || {};
  const present = formed(scope).filter((name) => name in extra);
  const missing = formed(scope).filter((name) => !(name in extra));
  const sections = present.map((name) => {
    const path = under(base, `extra_config.${name}`);
    const remove = () => {
      delete owner.extra_config[name];
      if (!Object.keys(owner.extra_config).length) delete owner.extra_config;
      changed(true);
    };
    return el("fieldset", {class: "namespace", "data-path": path},
      el("legend", {}, `${schema[name].title} (${name})`,
         el("button", {type: "button", class: "danger", title: `remove ${name}`, onclick: remove}, "✕")),
      ...schema[name].fields.map((spec) => field(extra[name], spec, `${path}.${spec[0]}`)),
      ...(restOf(extra[name], keysOf(name)) ? [field(extra, [name, "rest", "Other keys, as JSON"], `${path}.*`,
                                                     keysOf(name))] : []),
      el("div", {class: "error", "data-error-for": path}));
  });
  if (missing.length) {
    const add = (event) => {
      if (!event.target.value) return;
      owner.extra_config = {...(owner.extra_config || {}), [event.target.value]: {}};
      changed(true);
    };
    sections.push(el("div", {class: "field"}, el("label", {}, "add"),
      el("select", {class: "add-namespace", "data-for": base || "service", onchange: add},
         el("option", {value: ""}, "+ namespace ..."),
         ...missing.map((name) => el("option", {value: name}, `${schema[name].title} (${name})`)))));
  }
  return sections;
}

// --- rendering ----------------------------------------------------------------

function renderForms() {
  const service = $("#service-fields");
  service.replaceChildren(...SERVICE_FIELDS.map((spec) => field(config, spec, spec[0], formed("service"))),
                          ...namespaces(config, "service", ""));
  localErrors.clear();  // every input is rebuilt from the config: text that did not parse is gone with it
  if (config.endpoints === undefined) config.endpoints = [];
  const endpoints = config.endpoints;
  if (!Array.isArray(endpoints)) {
    $("#endpoints").replaceChildren(el("p", {class: "error-text"}, "endpoints is not a list: fix it in the file"));
    return;
  }
  $("#endpoints").replaceChildren(...endpoints.map((endpoint, e) => {
    const path = `endpoints[${e}]`;
    if (!isObject(endpoint)) return notAnObject(endpoints, e, path, "endpoint");
    if (endpoint.backend === undefined) endpoint.backend = [];
    const backends = Array.isArray(endpoint.backend) ? endpoint.backend : null;
    if (backends === null) {
      return el("details", {class: "endpoint", open: "", "data-path": path},
        el("summary", {}, el("span", {class: "title"}, String(endpoint.endpoint)), moveButtons(endpoints, e, "endpoint")),
        el("p", {class: "error-text"}, `${path}.backend is not a list: fix it in the file`),
        el("div", {class: "error", "data-error-for": path}));
    }
    return el("details", {class: "endpoint", open: "", "data-path": path},
      el("summary", {}, el("span", {class: "title"}, `${endpoint.method || "GET"} ${endpoint.endpoint || "(new)"}`),
         el("span", {class: "count", "data-count-for": path}), moveButtons(endpoints, e, "endpoint")),
      ...ENDPOINT_FIELDS.map((spec) => field(endpoint, spec, `${path}.${spec[0]}`, formed("endpoint"))),
      ...namespaces(endpoint, "endpoint", path),
      el("div", {class: "error", "data-error-for": path}),
      el("h3", {}, "Backends ", el("button", {type: "button", class: "add-backend", "data-for": path,
        onclick: () => { backends.push({url_pattern: "/"}); changed(true); }}, "+ backend")),
      ...backends.map((backend, b) => !isObject(backend)
        ? notAnObject(backends, b, `${path}.backend[${b}]`, "backend")
        : el("fieldset", {class: "backend", "data-path": `${path}.backend[${b}]`},
        el("legend", {}, `backend ${b}`, moveButtons(backends, b, "backend")),
        ...BACKEND_FIELDS.map((spec) => field(backend, spec, `${path}.backend[${b}].${spec[0]}`, formed("backend"))),
        ...namespaces(backend, "backend", `${path}.backend[${b}]`),
        el("div", {class: "error", "data-error-for": `${path}.backend[${b}]`}))));
  }));
}

function renderPicture() {
  const svg = $("#picture");
  // Only what is well-formed is drawn; the forms and the check name the rest.
  const list = (value) => (Array.isArray(value) ? value : []);
  const endpoints = list(config.endpoints).filter(isObject);
  const hosts = [];
  const calls = [];
  endpoints.forEach((endpoint, e) => list(endpoint.backend).filter(isObject).forEach((backend) => {
    for (const host of list(backend.host || config.host || ["(no host)"])) {
      if (!hosts.includes(host)) hosts.push(host);
      calls.push([e, hosts.indexOf(host), backend.url_pattern || ""]);
    }
  }));
  const row = 34;
  const height = Math.max(endpoints.length, hosts.length, 1) * row + 10;
  svg.setAttribute("viewBox", `0 0 640 ${height}`);
  const ns = "http://www.w3.org/2000/svg";
  const shape = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const y = (i) => 20 + i * row;
  svg.replaceChildren(
    ...calls.map(([e, h, pattern]) => {
      const line = shape("line", {x1: 304, y1: y(e), x2: 436, y2: y(h), class: "call"});
      line.append(shape("title", {}, pattern));  // hover shows the backend's url_pattern
      return line;
    }),
    ...endpoints.map((endpoint, e) => shape("text", {x: 300, y: y(e) + 4, "text-anchor": "end", class: "endpoint"},
                                            `${endpoint.method || "GET"} ${endpoint.endpoint || "?"}`)),
    ...hosts.map((host, h) => shape("text", {x: 440, y: y(h) + 4, class: "host"}, host)));
}

// --- validation -------------------------------------------------------------------

let lastReport = {errors: [], warnings: [], lint: [], unknown: [], unimplemented: []};

function fieldFor(path) {
  // The longest data-path that is the error's path or a prefix of it (a namespace inside extra_config).
  let best = null;
  for (const node of document.querySelectorAll("[data-error-for]")) {
    const candidate = node.getAttribute("data-error-for");
    if ((path === candidate || path.startsWith(candidate + ".") || path.startsWith(candidate + "["))
        && (!best || candidate.length > best.getAttribute("data-error-for").length)) best = node;
  }
  return best;
}

function showProblems(report) {
  lastReport = report;
  for (const node of document.querySelectorAll("[data-error-for]")) node.textContent = "";
  for (const node of document.querySelectorAll(".invalid")) node.classList.remove("invalid");
  for (const node of document.querySelectorAll("[data-count-for]")) node.textContent = "";
  const items = [];
  const place = (path, text, kind) => {
    const target = path ? fieldFor(path) : null;
    if (target) {
      target.append(el("div", {class: kind}, text));
      const input = document.querySelector(`[data-path="${CSS.escape(target.getAttribute("data-error-for"))}"]`);
      if (input && kind === "error-text") input.classList.add("invalid");
    }
    items.push(el("li", {class: kind}, path ? `${path}: ${text}` : text));
  };
  for (const [path, text] of localErrors) place(path, text, "error-text");
  for (const error of report.errors) place(error.path, error.message, "error-text");
  for (const finding of [...report.warnings, ...report.lint]) place("", finding, "warning-text");
  for (const item of report.unknown) place(item.path, `unknown namespace ${item.namespace} (a typo?)`, "warning-text");
  for (const item of report.unimplemented) place(item.path, `${item.namespace} is not implemented by Propylon (ignored)`,
                                                 "warning-text");
  $("#problems").replaceChildren(...(items.length ? items : [el("li", {class: "ok"}, "configuration OK")]));
  const errors = localErrors.size + report.errors.length;
  setStatus(errors ? `${errors} error${errors === 1 ? "" : "s"}` : "valid", errors ? "bad" : "good");
}

async function check() {
  const seq = ++checkSeq;
  const {body} = await api("POST", "/api/check", config);
  if (seq === checkSeq) showProblems(body);  // a newer check is on its way: drop this one
}

function changed(structure) {
  if (structure) renderForms();
  renderPicture();
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, 250);
}

// --- actions ----------------------------------------------------------------------

async function save() {
  if (localErrors.size) { setStatus("fix the fields marked invalid first", "bad"); return; }
  // The server checks what it saves; a check still pending from the last keystroke
  // must not come back afterwards and replace "saved" with "valid".
  clearTimeout(checkTimer);
  checkSeq++;
  const {status, body} = await api("POST", "/api/save", config);
  if (status === 200) setStatus(`saved ${body.path}`, "good");
  else { showProblems(body.errors ? body : lastReport); setStatus(`not saved: ${body.error || "the configuration has errors"}`, "bad"); }
}

function download() {
  const blob = new Blob([JSON.stringify(config, null, 2) + "\n"], {type: "application/json"});
  const link = el("a", {href: URL.createObjectURL(blob), download: "krakend.json"});
  link.click();
  URL.revokeObjectURL(link.href);
}

async function upload(event) {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const loaded = JSON.parse(await file.text());
    if (!isObject(loaded)) throw new Error("the top level is not an object");
    config = loaded;
    localErrors.clear();
    changed(true);
    setStatus(`loaded ${file.name}; Save writes ${$("#file").textContent}`);
  } catch (error) {
    setStatus(`${file.name} is not valid JSON: ${error.message}`, "bad");
  }
}

async function tryIt(event) {
  event.preventDefault();
  const result = $("#try-result");
  let headers = {};
  try {
    headers = $("#try-headers").value.trim() ? JSON.parse($("#try-headers").value) : {};
  } catch (error) {
    result.textContent = `headers: not valid JSON: ${error.message}`;
    return;
  }
  result.textContent = "starting the gateway and sending ...";
  const {status, body} = await api("POST", "/api/try", {
    config, method: $("#try-method").value, path: $("#try-path").value, headers, body: $("#try-body").value});
  if (status !== 200) {
    result.textContent = `${body.error}\n${(body.errors || []).map((e) => `${e.path}: ${e.message}`).join("\n")}`
      + (body.log ? `\n\n${body.log}` : "");
    return;
  }
  result.textContent = `HTTP ${body.status}  (${body.elapsed_ms} ms)\n`
    + body.headers.map(([name, value]) => `${name}: ${value}`).join("\n") + `\n\n${body.body}`;
}

async function start() {
  schema = (await api("GET", "/api/schema")).body;
  const {body} = await api("GET", "/api/config");
  $("#file").textContent = body.path;
  if (body.config === null) setStatus(`${body.path}: ${body.error}; starting empty`, "bad");
  if (body.config !== null && !isObject(body.config)) setStatus(`${body.path} is not a JSON object; starting empty`, "bad");
  config = isObject(body.config) ? body.config : {version: 3, endpoints: []};
  $("#add-endpoint").addEventListener("click", () => {
    if (!Array.isArray(config.endpoints)) return;
    config.endpoints.push({endpoint: "/new", backend: [{url_pattern: "/"}]});
    changed(true);
  });
  $("#save").addEventListener("click", save);
  $("#download").addEventListener("click", download);
  $("#upload").addEventListener("change", upload);
  $("#try").addEventListener("submit", tryIt);
  changed(true);
}

document.addEventListener("DOMContentLoaded", start);
