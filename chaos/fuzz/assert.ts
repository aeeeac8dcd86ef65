import fc from "fast-check";

/**
 * Runs an async property like `fc.assert`, but fails with a short message (seed, path and
 * the property's own error) instead of printing counterexamples that can be megabytes of
 * random text. No shrinking: the first failure is reported as found, which keeps each run
 * bounded in time; rerun with the printed seed to reproduce it.
 */
export async function assertProperty<T>(property: fc.IAsyncProperty<T>, opts: { numRuns: number; seed?: number }): Promise<number> {
  const seed = opts.seed ?? defaultSeed();
  const details = await fc.check(property, { numRuns: opts.numRuns, endOnFailure: true, ...(seed !== undefined ? { seed } : {}) });
  if (details.failed) {
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`property failed after ${details.numRuns} case(s) (seed ${details.seed}, path "${details.counterexamplePath}")\n${cause.slice(0, 4000)}`);
  }
  return details.numRuns;
}

/**
 * CI runs a fixed seed so a landing is reproducible; `FUZZ_SEED=random` (the default outside CI)
 * explores new cases on every run, and `FUZZ_SEED=<n>` replays one.
 */
function defaultSeed(): number | undefined {
  const env = process.env.FUZZ_SEED ?? (process.env.CI ? "20261127" : "random");
  return env === "random" ? undefined : Number(env);
}
