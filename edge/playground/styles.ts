/** The playground's stylesheet: system fonts, two columns on wide screens, light and dark. */
export const PLAYGROUND_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #fff; --ink: #1c2330; --muted: #5b6473; --line: #d9dde4;
  --accent: #3b5bdb; --accent-ink: #fff; --bad: #c92a2a; --bad-bg: #fff0f0; --good: #2b8a3e;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171c; --card: #1d2128; --ink: #e6e9ee; --muted: #9aa3b2; --line: #343a45;
    --accent: #748ffc; --accent-ink: #10131a; --bad: #ff8787; --bad-bg: #2c1a1d; --good: #69db7c; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: baseline; justify-content: space-between; flex-wrap: wrap; gap: .5rem;
  padding: .9rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { margin: 0; font-size: 1.25rem; }
header h1 span { color: var(--muted); font-weight: 400; }
a { color: var(--accent); }
main { max-width: 1180px; margin: 0 auto; padding: 1.25rem 1.5rem 3rem; display: grid; gap: 1.25rem; }
.columns { display: grid; gap: 1.25rem; grid-template-columns: minmax(0, 1fr); }
@media (min-width: 900px) {
  .columns { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); align-items: start; }
  .columns > section:last-child { position: sticky; top: 1rem; }
}
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem 1.25rem; }
h2 { margin: 0 0 .75rem; font-size: 1.05rem; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
.req { color: var(--bad); }
input[type=text], input[type=number], input[type=password], select, textarea {
  width: 100%; padding: .45rem .55rem; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--ink); font: inherit; }
textarea { resize: vertical; min-height: 4.5rem; }
input:focus-visible, select:focus-visible, textarea:focus-visible, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
[aria-invalid=true] { border-color: var(--bad) !important; background: var(--bad-bg) !important; }
button { font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--ink); cursor: pointer; }
button.primary { background: var(--accent); color: var(--accent-ink); border-color: var(--accent); font-weight: 600; }
button:disabled { opacity: .6; cursor: progress; }
.key-row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.key-row input { flex: 1 1 18rem; width: auto; }
.fields { display: grid; gap: .85rem; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); margin: 1rem 0; }
.field.wide { grid-column: 1 / -1; }
.field.check label { display: flex; gap: .5rem; align-items: center; }
.hint { color: var(--muted); font-size: .85rem; margin: .25rem 0 0; }
.limits { display: block; font-size: .8rem; opacity: .85; }
.lora-list { font-size: .85rem; margin-top: .35rem; }
.lora-list summary { cursor: pointer; color: var(--accent); }
.lora-list dl { margin: .35rem 0 0; }
.lora-list dt { font-weight: 600; }
.lora-list dd { margin: 0 0 .4rem; color: var(--muted); }
.field-error, .error { color: var(--bad); font-size: .88rem; margin: .25rem 0 0; font-weight: 600; }
.field-error:empty, .error:empty, .hint:empty { display: none; }
.lora-info { font-size: .85rem; margin-top: .35rem; padding: .45rem .6rem; border-left: 3px solid var(--accent); background: var(--bg); border-radius: 4px; }
.lora-info:empty { display: none; }
.lora-info p { margin: 0; }
.lora-info code, .recent code, .task-line code { font-size: .85em; }
progress { width: 100%; height: 1.1rem; accent-color: var(--accent); }
.progress-row { display: grid; gap: .25rem; margin: .5rem 0; }
.status { font-weight: 600; }
.status[data-status=SUCCESS] { color: var(--good); }
.status[data-status=FAILURE], .status[data-status=CANCELLED] { color: var(--bad); }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .75rem; margin: .5rem 0; font-size: .9rem; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.outputs { display: grid; gap: .75rem; margin-top: .75rem; }
.outputs figure { margin: 0; }
.outputs img { display: block; max-width: 100%; height: auto; border-radius: 6px; border: 1px solid var(--line); background: repeating-conic-gradient(var(--line) 0 25%, transparent 0 50%) 0 0 / 16px 16px; }
.outputs figcaption { margin-top: .35rem; }
.recent-head { display: flex; justify-content: space-between; align-items: baseline; }
.recent { list-style: none; margin: 0; padding: 0; display: grid; gap: .35rem; }
.recent li { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; padding: .4rem .5rem; border: 1px solid var(--line); border-radius: 6px; font-size: .9rem; }
.recent li .what { flex: 1 1 14rem; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.recent:empty::after { content: "No jobs from this browser yet."; color: var(--muted); font-size: .9rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
