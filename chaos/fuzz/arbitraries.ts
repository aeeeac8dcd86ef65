import fc from "fast-check";

/** Names every plain object inherits: a lookup by user input must not find them. */
export const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"];

/** Strings that trip naive code: control characters, lone surrogates, bidi and zero-width marks, prototype keys, traversal, huge. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "", " ", "\u0000", "\ud800", "\udfff", "x\ud83dy", "\u202e", "\u200b\u200d", "💥🧪", "Ω≈ç√", "e\u0301", "\r\n", "\t",
      "__proto__", "constructor", "toString", "hasOwnProperty", "../../etc/passwd", "..", "%00", "%ZZ", "%", "${x}", "{{x}}",
      "<script>alert(1)</script>", "'; DROP TABLE jobs;--", "NaN", "Infinity", "-0", "1e400", "random", "None", "null", "true",
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 300_000 }).map((n) => "x".repeat(n)) },
);

/** Number tokens as JSON text: huge, tiny, negative zero, past 2^53, floats where integers belong. */
export const numberToken: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom("1e400", "-1e400", "1e-400", "9007199254740993", "-0", "0.5", "1" + "0".repeat(400), "4294967297", "1.0", "-1"),
);

const leafToken: fc.Arbitrary<string> = fc.oneof(numberToken, oddString.map((s) => JSON.stringify(s)), fc.constantFrom("true", "false", "null"));

/** Any JSON document as text, odd leaves included (numbers JSON.stringify could not write). */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leafToken, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
  object: fc
    .array(fc.tuple(oddString.filter((s) => s.length < 100), tie("value")), { maxLength: 4 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
})).value;

/** Nesting far deeper than any body needs: arrays, objects, or both, inside a submit body or bare. */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 50, max: 60_000 }), fc.constantFrom("array", "object", "params"))
  .map(([depth, kind]) => {
    if (kind === "array") return "[".repeat(depth) + "]".repeat(depth);
    const nest = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    return kind === "object" ? nest : `{"workflow_id":"sd15_basic","params":{"prompt":"x","seed":${nest}}}`;
  });

/** Internal addresses written the ways parsers disagree on: IPv4 numeric forms, IPv6 embeddings of IPv4, non-global IPv6 ranges. */
export const ssrfHost: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "127.0.0.1", "127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433", "0x7f000001", "127.0.0.1.", "10.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "192.0.0.8", "198.18.0.1", "224.0.0.1", "255.255.255.255", "[::1]", "[::]", "[::127.0.0.1]", "[::7f00:1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
    "[::ffff:0:7f00:1]", "[2002:7f00:1::]", "[2002:a9fe:a9fe::1]", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "[64:ff9b::a9fe:a9fe]", "[fec0::1]",
    "[100::1]", "[fe80::1]", "[fd00::1]", "[ff02::1]", "[0:0:0:0:0:ffff:127.0.0.1]",
    "localhost", "localhost.", "LOCALHOST", "ｌｏｃａｌｈｏｓｔ", "api.localhost", "printer.local", "printer.local.", "metadata.google.internal",
    "metadata.google.internal.", "nas.home.arpa", "db.default.svc", "db.default.svc.cluster.local", "router.lan", "x.corp", "127.0.0.1.nip.io",
    "app.10.0.0.1.sslip.io", "intranet",
  ),
  // A private IPv4 address, as dotted quad or one 32-bit decimal.
  fc.tuple(fc.constantFrom(10, 127), fc.nat(255), fc.nat(255), fc.nat(255)).chain(([a, b, c, d]) =>
    fc.constantFrom(`${a}.${b}.${c}.${d}`, String(((a << 24) >>> 0) + (b << 16) + (c << 8) + d), `[::ffff:${a}.${b}.${c}.${d}]`, `[2002:${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}::1]`),
  ),
);

/** A webhook URL aimed at an internal host: https or http, any port, a path. */
export const ssrfUrl: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("https", "http"), ssrfHost, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), fc.constantFrom("/", "/hook", "/latest/meta-data"))
  .map(([scheme, host, port, path]) => `${scheme}://${host}${port ? `:${port}` : ""}${path}`);

/** Range headers a server must ignore (200) or answer 416: several ranges, other units, junk, huge numbers. */
export const malformedRange: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "bytes=0-1,5-6", "bytes=5-1", "bytes=99999999-", "bytes=-0", "bytes=", "bytes=-", "bytes=--1", "bytes=0x10-", "items=0-5", "bytes 0-5", "=0-5",
    "bytes=0-5,", "bytes=1-2-3", "bytes=abc", `bytes=${"9".repeat(40)}-`, `bytes=0-${"9".repeat(40)}`, `bytes=-${"9".repeat(40)}`, "bytes=\t0-1", "BYTES=0-0",
  ),
  fc.tuple(fc.nat(2_000), fc.nat(2_000)).map(([a, b]) => `bytes=${a}-${b}`),
  fc.array(fc.tuple(fc.nat(500), fc.nat(500)), { minLength: 2, maxLength: 5 }).map((rs) => `bytes=${rs.map(([a, b]) => `${a}-${b}`).join(",")}`),
);

/** Mostly a valid value, sometimes an odd one: so most cases get past the first check and reach deeper code. */
function mostly(valid: fc.Arbitrary<string>, weight = 4): fc.Arbitrary<string> {
  return fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: leafToken }, { weight: 1, arbitrary: jsonText });
}

/** Absent (null) five times in six. */
function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

const quoted = (...values: string[]) => fc.constantFrom(...values.map((v) => JSON.stringify(v)));

/** sd15_basic's parameters, each with values near its range, plus unknown and prototype-named keys. */
const paramEntry: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant("prompt"), mostly(oddString.map((s) => JSON.stringify(s)))),
  fc.tuple(fc.constant("negative_prompt"), mostly(oddString.map((s) => JSON.stringify(s)))),
  fc.tuple(fc.constant("seed"), mostly(fc.oneof(fc.integer({ min: -1, max: 2 ** 53 }).map(String), quoted("random")))),
  fc.tuple(fc.constantFrom("width", "height"), mostly(fc.integer({ min: 0, max: 300 }).map((n) => String(n * 8)))),
  fc.tuple(fc.constant("steps"), mostly(fc.integer({ min: 0, max: 101 }).map(String))),
  fc.tuple(fc.constant("cfg"), mostly(fc.double({ min: -1, max: 40, noNaN: true }).map(String))),
  fc.tuple(fc.constant("lora"), mostly(fc.oneof(quoted("None", "none", "", ...PROTOTYPE_NAMES), oddString.map((s) => JSON.stringify(s))))),
  fc.tuple(fc.constant("lora_strength"), mostly(fc.double({ min: -5, max: 5, noNaN: true }).map(String))),
  fc.tuple(fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), oddString.filter((s) => s.length < 60)), leafToken),
);

/** A submit body that is almost right: each field valid most of the time, with wrong types, odd values or extra keys mixed in. */
export const submitBodyText: fc.Arbitrary<string> = fc
  .record(
    {
      workflow_id: mostly(
        fc.oneof(
          { weight: 6, arbitrary: quoted("sd15_basic", "flux_default", "sd15_img2img") },
          { weight: 1, arbitrary: quoted(...PROTOTYPE_NAMES) },
          { weight: 1, arbitrary: oddString.map((s) => JSON.stringify(s)) },
        ),
      ),
      params: fc.oneof(
        { weight: 8, arbitrary: fc.array(paramEntry, { maxLength: 6 }).map((e) => `{${[["prompt", '"a cat"'] as [string, string], ...e].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`) },
        { weight: 1, arbitrary: jsonText },
      ),
      priority: mostly(fc.integer({ min: -101, max: 101 }).map(String)),
      output_format: mostly(quoted("png", "webp", "jpeg", "gif", "PNG")),
      quality: mostly(fc.integer({ min: 0, max: 101 }).map(String)),
      webhook_url: rarely(mostly(
        fc.oneof(
          quoted("http://127.0.0.1/", "https://example.com/hook", "http://[::1]/", "http://169.254.169.254/", "file:///etc/passwd", "http://%ZZ/", "javascript:alert(1)", "http://[::ffff:127.0.0.1]/", "https://user:pw@example.com:99999/"),
          ssrfUrl.map((u) => JSON.stringify(u)),
        ),
        1,
      )),
      callback_url: rarely(mostly(quoted("https://example.com/other", "https://example.com/hook"), 1)),
      extra: rarely(fc.tuple(oddString.filter((s) => s.length < 50), jsonText).map(([k, v]) => `${JSON.stringify(k)}:${v}`)),
    },
    { requiredKeys: ["workflow_id", "params"] },
  )
  .map((r) =>
    `{${Object.entries(r)
      .filter((e): e is [string, string] => typeof e[1] === "string")
      .map(([k, v]) => (k === "extra" ? v : `"${k}":${v}`))
      .join(",")}}`,
  );

/** JSON broken in the ways real clients break it: cut short, a byte flipped, trailing junk, invalid UTF-8. */
export const brokenBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.tuple(submitBodyText, fc.nat()).map(([t, n]) => t.slice(0, n % Math.max(1, t.length))),
  fc.tuple(submitBodyText, fc.nat(), fc.string({ unit: "binary", minLength: 1, maxLength: 3 })).map(([t, n, s]) => t.slice(0, n % (t.length + 1)) + s + t.slice(n % (t.length + 1))),
  submitBodyText.map((t) => `${t},`),
  fc.constantFrom("", "{", "}", "[", "nul", "{'a':1}", '{"a":1,}', "\ufeff{}", "{\"workflow_id\":\"sd15_basic\"", "undefined", "NaN", "{}{}"),
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom(Uint8Array.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]), Uint8Array.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])),
);

/** Any body a client might send to any route. */
export const anyBody: fc.Arbitrary<string | Uint8Array | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: submitBodyText },
  { weight: 3, arbitrary: brokenBody },
  { weight: 2, arbitrary: jsonText },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 400_000 }).map((n) => `{"workflow_id":"sd15_basic","params":{"prompt":"${"y".repeat(n)}"}}`) },
);

export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined, "application/json; charset=utf-8", "application/json; charset=utf-16", "application/vnd.api+json", "APPLICATION/JSON", "text/plain",
      "text/json", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "image/png", "image/jpeg", "image/svg+xml", "", "*/*", "application/jsonx",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 60 }).filter((s) => !/[\r\n\0]/.test(s)) },
);

/** Headers that change nothing about framing (node refuses, or the runtime rejects, malformed framing before our code runs). */
const FRAMING = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade", "expect", "te", "trailer", "keep-alive", "content-type", "authorization"]);

export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.oneof(
    fc.constantFrom("idempotency-key", "accept", "range", "origin", "cookie", "x-forwarded-for", "cf-connecting-ip", "if-none-match", "accept-encoding", "x-owner", "sec-websocket-protocol", "user-agent"),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,24}$/),
  ).filter((k) => !FRAMING.has(k) && !k.startsWith("proxy-")),
  fc.oneof(
    fc.string({ unit: "grapheme-ascii", maxLength: 120 }).map((s) => s.replace(/[\r\n\0]/g, "")),
    fc.constantFrom("bytes=0-1", "bytes=-5", "bytes=99999999-", "bytes=5-1", "text/event-stream", "*", "x".repeat(4000)),
    malformedRange,
  ),
  { maxKeys: 4 },
);

/** A path segment: percent-encoded odd strings, raw (malformed) escapes, or id-shaped values. */
export const pathSegment: fc.Arbitrary<string> = fc.oneof(
  oddString.filter((s) => s.length < 2000).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "?"))),
  fc.constantFrom("%ZZ", "%", "%C0%AF", "%E0%80", "%FF", "%00", "..", "%2e%2e", "%2F", "tsk_aaaaaaaaaaaaaaaaaaaa.default", "tsk_aaaaaaaaaaaaaaaaaaaa.nopool", "lse_aaaaaaaaaaaaaaaa", ...PROTOTYPE_NAMES),
  fc.stringMatching(/^[a-z0-9_.-]{1,40}$/),
);

/** A query string from the route's own parameter names and random ones, with odd values. */
export function queryFor(names: readonly string[]): fc.Arbitrary<string> {
  const name = fc.oneof(fc.constantFrom(...names, "pool", "token", "exp", "sig"), fc.stringMatching(/^[a-z_]{1,12}$/));
  const value = fc.oneof(pathSegment, numberToken.map(encodeURIComponent), fc.constant(""));
  return fc.array(fc.tuple(name, value), { maxLength: 4 }).map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}` : ""));
}
