import type { ErrorHandler, NotFoundHandler } from "hono";
import { ApiError, isApiError } from "../../shared/errors.ts";
import type { AppEnv } from "./context.ts";

export function errorResponse(err: ApiError): Response {
  return Response.json(err.toBody(), { status: err.status, headers: err.headers ?? {} });
}

/** The one error handler: domain errors keep their code; anything else is logged and hidden. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (isApiError(err)) return errorResponse(err);
  console.error(JSON.stringify({ level: "error", msg: "unhandled", path: c.req.path, error: String(err), stack: (err as Error)?.stack }));
  return errorResponse(new ApiError("internal", "Something went wrong on our side; the request was not applied. Try again."));
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}. See /docs for the API.`));
