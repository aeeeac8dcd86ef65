#!/usr/bin/env bash
# `npm test` for CI, run from the repository root: prints "N passed, N failed" from vitest's JSON
# report whatever the outcome, then exits with the tests' own status.
set -uo pipefail
report=test-results/vitest.json
rm -f "$report"
status=0
npm test "$@" || status=$?
node -e '
const fs = require("fs");
const path = process.argv[1];
if (!fs.existsSync(path)) {
  console.log(`no test report: the run stopped before writing ${path}`);
} else {
  const r = JSON.parse(fs.readFileSync(path, "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
}' "$report" || true
exit "$status"
