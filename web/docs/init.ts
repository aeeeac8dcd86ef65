/**
 * Starts Swagger UI (swagger-ui-bundle.js, loaded before this script from the same origin) on
 * this edge's own OpenAPI document. Nothing leaves the origin: no validator badge, no CDN.
 */
interface SwaggerUiOptions {
  url: string;
  dom_id: string;
  deepLinking: boolean;
  /** null: Swagger UI would otherwise send the document to validator.swagger.io for a badge. */
  validatorUrl: null;
  tryItOutEnabled: boolean;
  persistAuthorization: boolean;
}
type SwaggerUiBundle = (options: SwaggerUiOptions) => unknown;

const bundle = (globalThis as { SwaggerUIBundle?: SwaggerUiBundle }).SwaggerUIBundle;
const root = document.getElementById("swagger-ui");
if (!bundle || !root) {
  if (root) root.textContent = "The reference UI did not load. The raw OpenAPI document is at /openapi.json.";
} else {
  // persistAuthorization stays off: the key entered here is not kept (the playground keeps its own).
  bundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null, tryItOutEnabled: false, persistAuthorization: false });
}
