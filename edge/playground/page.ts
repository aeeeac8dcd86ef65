// Replaced by the playground page (issue: clients and playground).
export const PLAYGROUND_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>comfy-edge</title></head><body><h1>comfy-edge</h1><p>API reference: <a href="/docs">/docs</a></p></body></html>`;
