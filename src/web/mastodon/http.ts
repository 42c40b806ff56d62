import { status } from "@grpc/grpc-js";
import type { FastifyReply, FastifyRequest } from "fastify";
import { FlockError } from "../../shared/errors.js";
import type { WebContext } from "../context.js";

/**
 * The HTTP side of the Mastodon client API: its error shape, its parameters (query and body
 * merged, Rails-style arrays and booleans), absolute URLs and Link pagination.
 */

/** An answer in Mastodon's error shape: `{"error": "…"}` (plus `error_description` for OAuth). */
export class MastodonError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly description?: string,
  ) {
    super(message);
    this.name = "MastodonError";
  }
}

export const notFound = () => new MastodonError(404, "Record not found");
export const unprocessable = (message: string) => new MastodonError(422, message);
export const badRequest = (message: string) => new MastodonError(400, message);

/** Mastodon's messages for what Flock's backend answers, by gRPC status. */
export function mastodonErrorOf(err: unknown): MastodonError {
  if (err instanceof MastodonError) return err;
  if (err instanceof FlockError) {
    switch (err.code) {
      case status.INVALID_ARGUMENT:
      case status.FAILED_PRECONDITION:
      case status.OUT_OF_RANGE:
        return new MastodonError(422, `Validation failed: ${err.message}`);
      case status.UNAUTHENTICATED:
        return new MastodonError(401, "The access token is invalid");
      case status.PERMISSION_DENIED:
        if (/outside the authorized scopes|does not take an OAuth/.test(err.message))
          return new MastodonError(403, "This action is outside the authorized scopes");
        if (/requires an authenticated user/.test(err.message))
          return new MastodonError(422, "This method requires an authenticated user");
        return new MastodonError(403, err.message);
      case status.NOT_FOUND:
        return notFound();
      case status.ALREADY_EXISTS:
        return new MastodonError(422, `Validation failed: ${err.message}`);
      case status.RESOURCE_EXHAUSTED:
        return new MastodonError(429, "Too many requests");
      case status.UNAVAILABLE:
      case status.DEADLINE_EXCEEDED:
      case status.CANCELLED:
        return new MastodonError(503, "The service is unavailable, try again");
      default:
        return new MastodonError(500, "Internal error");
    }
  }
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new MastodonError(413, "Request body is too large");
  if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new MastodonError(415, "Unsupported media type");
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500)
    return new MastodonError(e.statusCode, String(e.message ?? "Bad request"));
  return new MastodonError(500, "Internal error");
}

/**
 * Every parameter of a request, as Rails sees them: the query, then the body (JSON, form or
 * multipart) over it. `key[]` and `key` are one name.
 */
export type Params = Record<string, unknown>;

export function paramsOf(request: FastifyRequest): Params {
  const out: Params = Object.create(null) as Params;
  const add = (source: unknown) => {
    if (typeof source !== "object" || source === null || Array.isArray(source)) return;
    for (const [rawKey, value] of Object.entries(source as Record<string, unknown>)) {
      const key = rawKey.endsWith("[]") ? rawKey.slice(0, -2) : rawKey;
      out[key] = value;
    }
  };
  add(request.query);
  add(request.body);
  return out;
}

/** A text parameter: absent is undefined; a number or boolean (JSON) becomes its text. */
export function text(params: Params, name: string, max = 5000): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value !== "string") throw unprocessable(`${name} must be text`);
  if (value.length > max) throw unprocessable(`${name} is too long`);
  return value;
}

/** A list parameter: `k[]=a&k[]=b`, `k=a`, a JSON array, or (`split`) one text split on white space. */
export function list(params: Params, name: string, max = 100, split?: RegExp): string[] {
  const value = params[name];
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value)
    ? value
    : split && typeof value === "string"
      ? value.split(split)
      : [value];
  if (items.length > max) throw unprocessable(`${name}: at most ${max} values`);
  return items.map((item) => {
    if (typeof item === "number") return String(item);
    if (typeof item !== "string" || item.length > 2000) throw unprocessable(`${name} must be a list of text`);
    return item;
  });
}

/** Rails' truthy values: true, 1, on, yes (and the JSON true). */
export function flag(params: Params, name: string): boolean {
  const value = params[name];
  if (value === true || value === 1) return true;
  return typeof value === "string" && ["true", "1", "on", "yes", "t"].includes(value.toLowerCase());
}

/** `limit`: Mastodon clamps it (`min(abs(limit), 2·default)`); anything not a number is the default. */
export function limitOf(params: Params, fallback: number, max: number): number {
  const raw = text(params, "limit", 20);
  if (raw === undefined || raw === "") return fallback;
  const n = Math.abs(Math.trunc(Number(raw)));
  if (!Number.isFinite(n) || n === 0) return fallback;
  return Math.min(n, max);
}

/** A status or notification id parameter (a revision); anything else is undefined. */
export function idParam(params: Params, name: string): string | undefined {
  const raw = text(params, name, 40);
  return raw !== undefined && /^[1-9][0-9]{0,15}$/.test(raw) ? raw : undefined;
}

/** The origin clients reach Flock at: PUBLIC_URL, or the request's own (behind the trusted proxy). */
export function originOf(ctx: WebContext, request: FastifyRequest): string {
  if (ctx.publicUrl !== "") return ctx.publicUrl;
  const host = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(request.host) ? request.host : "localhost";
  return `${request.protocol}://${host}`;
}

/** The streaming origin: the same host, ws:// or wss:// (no trailing slash: megalodon appends). */
export function streamingOriginOf(origin: string): string {
  return origin.replace(/^http/, "ws");
}

/**
 * Sets Mastodon's Link header for a page of items with numeric ids (newest first): `next`
 * (max_id: older) and `prev` (min_id: newer), the request's other parameters kept. An empty
 * page gets none: clients iterate until a page has no Link (masto would loop forever otherwise).
 */
export function setPageLinks(
  reply: FastifyReply,
  origin: string,
  path: string,
  keep: Record<string, string | undefined>,
  ids: readonly string[],
): void {
  if (ids.length === 0) return;
  const query = (extra: Record<string, string>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(keep)) if (v !== undefined && v !== "") q.set(k, v);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return q.toString();
  };
  const next = `${origin}${path}?${query({ max_id: ids[ids.length - 1]! })}`;
  const prev = `${origin}${path}?${query({ min_id: ids[0]! })}`;
  reply.header("link", `<${next}>; rel="next", <${prev}>; rel="prev"`);
}

/** Sets a Link header for a page of accounts listed by an opaque cursor (only `next`). */
export function setCursorLink(
  reply: FastifyReply,
  origin: string,
  path: string,
  keep: Record<string, string | undefined>,
  nextCursor: string,
): void {
  if (nextCursor === "") return;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(keep)) if (v !== undefined && v !== "") q.set(k, v);
  q.set("max_id", nextCursor);
  reply.header("link", `<${origin}${path}?${q.toString()}>; rel="next"`);
}
