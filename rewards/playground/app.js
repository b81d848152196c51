// The playground's logic: list the graders, score one sample through /v1/score, show the per-grader
// counters of /metrics. Everything from the service (model output included) goes on the page as text, never
// as HTML. With an API key, the key typed in is kept in this tab's sessionStorage and sent as a bearer token.
"use strict";

const KEY_STORE = "rlvr-api-key";
const METRICS_EVERY_MS = 3000;
const $ = (id) => document.getElementById(id);
let metricsTimer = null;

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORE);
  return key ? { Authorization: "Bearer " + key } : {};
}

// fetch with the key; a 401 sends the user back to the key form and rejects
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...options.headers, ...authHeaders() } });
  if (response.status === 401) {
    askForKey(sessionStorage.getItem(KEY_STORE) ? "the service refused this key" : "");
    throw new Error("unauthorized");
  }
  return response;
}

function askForKey(message) {
  clearTimeout(metricsTimer);
  $("main").hidden = true;
  $("key-form").hidden = false;
  $("key-error").textContent = message;
  $("key").focus();
}

function option(value, label) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = label;
  return element;
}

function group(label, values) {
  const element = document.createElement("optgroup");
  element.label = label;
  values.forEach(([value, text]) => element.appendChild(option(value, text)));
  return element;
}

let named = {};

async function loadGraders() {
  let body;
  try {
    const response = await api("/v1/graders");
    body = await response.json();
    if (!response.ok) throw new Error(response.status + " " + JSON.stringify(body));
  } catch (error) {
    if (error.message !== "unauthorized") $("status").textContent = "could not list graders: " + error.message;
    return;
  }
  named = body.named || {};
  const select = $("grader");
  select.replaceChildren(
    group("named graders", Object.keys(named).sort().map((name) => ["name:" + name, name])),
    group("grader types", Object.keys(body.types || {}).sort().map((kind) => ["type:" + kind, kind])),
    option("custom", "custom spec (JSON below)"),
  );
  const options = [...select.options].map((o) => o.value);
  select.value = options.includes("type:math") ? "type:math" : options[0];
  graderChanged();
  $("key-form").hidden = true;
  $("main").hidden = false;
  $("status").textContent = "";
  refreshMetrics();
}

function graderChanged() {
  const [kind, name] = splitChoice($("grader").value);
  const spec = $("spec");
  spec.readOnly = kind === "name";
  if (kind === "name") spec.value = JSON.stringify(named[name], null, 2);
  if (kind === "type") spec.value = JSON.stringify({ type: name });
}

function splitChoice(value) {
  const at = value.indexOf(":");
  return at < 0 ? [value, ""] : [value.slice(0, at), value.slice(at + 1)];
}

function parseJSON(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(what + " is not valid JSON: " + error.message);
  }
}

function request() {
  const [kind, name] = splitChoice($("grader").value);
  const body = {
    grader: kind === "name" ? name : parseJSON($("spec").value, "the spec"),
    prompt: $("prompt").value,
    completion: $("completion").value,
  };
  const reference = $("reference").value;
  if (reference !== "") {
    body.reference = $("reference-kind").value === "json" ? parseJSON(reference, "the reference") : reference;
  }
  if ($("metadata").value.trim() !== "") body.metadata = parseJSON($("metadata").value, "the metadata");
  return body;
}

// what the grader read from the completion: the math answer, or the code blocks it ran
function extracted(details) {
  if (typeof details.answer === "string") return details.answer;
  const extraction = details.extraction;
  if (extraction && Array.isArray(extraction.blocks)) {
    const blocks = extraction.blocks.map((b) => "#" + b.index + " (" + [].concat(b.reasons).join(", ") + ")");
    const tests = "passed" in details ? "; passed " + details.passed + " of " + details.total + " tests" : "";
    return "code from block " + (blocks.join(", ") || "none") + tests;
  }
  return "(none reported)";
}

function describeFailure(status, body) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    return status + ": " + detail.map((e) => (e.loc || []).join(".") + ": " + e.msg).join("; ");
  }
  return status + ": " + (typeof detail === "string" ? detail : JSON.stringify(body));
}

async function score(event) {
  event.preventDefault();
  $("form-error").textContent = "";
  let body;
  try {
    body = request();
  } catch (error) {
    $("form-error").textContent = error.message;
    return;
  }
  $("score").disabled = true;
  try {
    const response = await api("/v1/score", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const result = await response.json();
    if (!response.ok) {
      $("form-error").textContent = describeFailure(response.status, result);
      return;
    }
    $("reward").textContent = String(result.reward);
    $("answer").textContent = extracted(result.details || {});
    $("error").textContent = result.error === null ? "none" : result.error;
    $("elapsed").textContent = result.elapsed_ms.toFixed(1) + " ms";
    $("details").textContent = JSON.stringify(result.details, null, 2);
    $("result").hidden = false;
    refreshMetrics();
  } catch (error) {
    if (error.message !== "unauthorized") $("form-error").textContent = "request failed: " + error.message;
  } finally {
    $("score").disabled = false;
  }
}

// Prometheus text format: `name{label="value",...} number` per line; comments and blank lines skipped
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    samples.push({ name: match[1], labels: parseLabels(match[2] || ""), value: Number(match[3]) });
  }
  return samples;
}

function parseLabels(block) {
  const labels = {};
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let match;
  while ((match = pair.exec(block)) !== null) {
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
  }
  return labels;
}

const COLUMNS = {
  rlvr_reward_count: "scored",
  rlvr_reward_sum: "sum",
  rlvr_grader_errors_total: "errors",
  rlvr_grader_timeouts_total: "timeouts",
  rlvr_judge_injections_total: "injections",
};

function perGrader(samples) {
  const rows = {};
  for (const { name, labels, value } of samples) {
    const column = COLUMNS[name];
    if (!column || labels.grader === undefined) continue;
    const row = (rows[labels.grader] ||= { scored: 0, sum: 0, errors: 0, timeouts: 0, injections: 0 });
    row[column] += value;
  }
  return rows;
}

function cell(text) {
  const element = document.createElement("td");
  element.textContent = text;
  return element;
}

function renderMetrics(samples) {
  const rows = perGrader(samples);
  $("counters").tBodies[0].replaceChildren(...Object.keys(rows).sort().map((grader) => {
    const row = rows[grader];
    const tr = document.createElement("tr");
    tr.dataset.grader = grader;
    const mean = row.scored ? (row.sum / row.scored).toFixed(3) : "-";
    [grader, row.scored, mean, row.errors, row.timeouts, row.injections]
      .forEach((value) => tr.appendChild(cell(String(value))));
    return tr;
  }));
  const gauge = (name) => samples.find((s) => s.name === name)?.value;
  $("pool").textContent = "workers " + gauge("rlvr_pool_workers") + ", queue " + gauge("rlvr_pool_queue_depth");
  $("metrics-age").textContent = "Updated " + new Date().toLocaleTimeString() + ".";
}

// one polling loop however often it is called: each run replaces the pending timer when it ends
async function refreshMetrics() {
  try {
    const response = await api("/metrics");
    if (!response.ok) throw new Error(String(response.status));
    renderMetrics(parseMetrics(await response.text()));
    $("metrics-error").textContent = "";
  } catch (error) {
    if (error.message === "unauthorized") return;
    $("metrics-error").textContent = "could not read /metrics: " + error.message;
  }
  clearTimeout(metricsTimer);
  metricsTimer = setTimeout(refreshMetrics, METRICS_EVERY_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("grader").addEventListener("change", graderChanged);
  $("score-form").addEventListener("submit", score);
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORE, $("key").value);
    loadGraders();
  });
  loadGraders();
});
