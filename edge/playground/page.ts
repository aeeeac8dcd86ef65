import { PLAYGROUND_FORM_JS } from "./script-form.ts";
import { PLAYGROUND_CORE_JS } from "./script-core.ts";
import { PLAYGROUND_RUN_JS } from "./script-run.ts";
import { PLAYGROUND_CSS } from "./styles.ts";

/**
 * The playground served at `GET /`: one self-contained page (no CDN, no build step).
 * The script only ever writes data into the DOM as text (textContent, attributes), never as HTML.
 */
const MARKUP = String.raw`
<header>
  <h1>comfy-edge <span>playground</span></h1>
  <nav aria-label="Links"><a href="/docs">API reference</a> · <a href="/openapi.json">OpenAPI</a></nav>
</header>
<main>
  <section aria-labelledby="key-title">
    <h2 id="key-title">API key</h2>
    <form id="key-form" class="key-row">
      <label for="api-key" class="visually-hidden">Client API key</label>
      <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" placeholder="Client API key" aria-describedby="key-hint key-status">
      <button type="submit" class="primary">Use key</button>
      <button type="button" id="forget-key">Forget</button>
    </form>
    <p id="key-status" class="error" role="alert"></p>
    <p id="key-hint" class="hint">Kept in this browser only (localStorage) and sent as <code>Authorization: Bearer</code>.</p>
  </section>
  <div class="columns">
    <section aria-labelledby="job-title">
      <h2 id="job-title">New job</h2>
      <label for="workflow">Workflow</label>
      <select id="workflow" disabled aria-describedby="workflow-description"><option value="">Enter your API key first</option></select>
      <p id="workflow-description" class="hint"></p>
      <form id="job-form" novalidate>
        <div id="fields" class="fields"></div>
        <p id="form-error" class="error" role="alert"></p>
        <button type="submit" id="submit" class="primary" disabled>Generate</button>
      </form>
    </section>
    <section aria-labelledby="run-title">
      <h2 id="run-title">Result</h2>
      <p id="task-status" class="status" role="status" aria-live="polite">No job yet.</p>
      <div class="progress-row">
        <label for="progress">Progress</label>
        <progress id="progress" max="100" value="0" aria-describedby="progress-text"></progress>
        <span id="progress-text" class="hint"></span>
      </div>
      <dl class="meta">
        <dt>Task</dt><dd id="task-id">-</dd>
        <dt>Seed used</dt><dd id="seed">-</dd>
      </dl>
      <p id="feed-note" class="hint"></p>
      <p id="task-error" class="error" role="alert"></p>
      <button type="button" id="cancel" hidden>Cancel job</button>
      <div id="outputs" class="outputs" aria-live="polite"></div>
    </section>
  </div>
  <section aria-labelledby="recent-title">
    <div class="recent-head">
      <h2 id="recent-title">Recent jobs (this browser)</h2>
      <button type="button" id="clear-recent">Clear list</button>
    </div>
    <ol id="recent" class="recent"></ol>
  </section>
</main>`;

export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>comfy-edge playground</title>
<style>${PLAYGROUND_CSS}</style>
</head>
<body>${MARKUP}
<script>
(function () {
"use strict";
${PLAYGROUND_CORE_JS}
${PLAYGROUND_FORM_JS}
${PLAYGROUND_RUN_JS}
init();
})();
</script>
</body>
</html>`;
