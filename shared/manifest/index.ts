/** The manifest system: load and prove the manifests, check a job's parameters, compile its graph. */
export { isManifestError, loadCatalog, ManifestError, type ManifestFiles } from "./catalog.ts";
export { checkValue, UPLOAD_ID, type ValueProblem } from "./check-value.ts";
export { compileJob, promptWithLora, randomInt, type CompiledJob, type ImageInput } from "./compile.ts";
export { validateParams, type ParamsResult } from "./params.ts";
export * from "./schema.ts";
export * from "./views.ts";
