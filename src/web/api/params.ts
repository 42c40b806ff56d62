import { invalid, notFound, unauthenticated } from "../../shared/errors.js";
import { isValidUsername, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX } from "../../shared/validation.js";

/** A JSON body must be a plain object; anything else is a 400 before any field is read. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalid("request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

export function stringField(body: Record<string, unknown>, name: string): string {
  const value = Object.hasOwn(body, name) ? body[name] : undefined;
  if (typeof value !== "string") throw invalid(`${name} must be a string`);
  return value;
}

export interface PageQuery {
  limit: number;
  cursor: string;
}

/** `?limit=&cursor=`: limit a whole number 1–100 (default 20), cursor as the last page gave it. */
export function pageQuery(query: unknown): PageQuery {
  const q = (query ?? {}) as Record<string, unknown>;
  const rawLimit = q.limit;
  const rawCursor = q.cursor;
  let limit = PAGE_LIMIT_DEFAULT;
  if (rawLimit !== undefined && rawLimit !== "") {
    if (
      typeof rawLimit !== "string" ||
      !/^[0-9]{1,3}$/.test(rawLimit) ||
      +rawLimit < 1 ||
      +rawLimit > PAGE_LIMIT_MAX
    ) {
      throw invalid(`limit must be a whole number from 1 to ${PAGE_LIMIT_MAX}`);
    }
    limit = Number(rawLimit);
  }
  if (rawCursor !== undefined && typeof rawCursor !== "string") throw invalid("cursor must be given once");
  return { limit, cursor: rawCursor ?? "" };
}

/** A username taken from the path: one that cannot exist is simply not found. */
export function pathUsername(raw: string): string {
  if (!isValidUsername(raw)) throw notFound(`no user "${raw.slice(0, 40)}"`);
  return raw.toLowerCase();
}

export function requireToken(token: string): string {
  if (token === "") throw unauthenticated("send Authorization: Bearer <token>");
  return token;
}

/** A post id (a commit revision) as the API writes them. */
const POST_ID = /^[1-9][0-9]{0,15}$/;

export function isPostId(raw: unknown): raw is string {
  return typeof raw === "string" && POST_ID.test(raw);
}

/** A post id taken from the path: one that cannot exist is simply not found. */
export function pathPostId(raw: string): string {
  if (!POST_ID.test(raw)) throw notFound(`no post "${raw.slice(0, 40)}"`);
  return raw;
}

/** A field that may be left out (or sent as null); present, it must be a string. */
export function optionalStringField(body: Record<string, unknown>, name: string): string | null | undefined {
  const value = Object.hasOwn(body, name) ? body[name] : undefined;
  if (value === undefined || value === null) return value;
  if (typeof value !== "string") throw invalid(`${name} must be a string`);
  return value;
}

/** A query parameter given at most once, as text ("" when absent). */
export function queryString(query: unknown, name: string): string {
  const q = (query ?? {}) as Record<string, unknown>;
  const value = Object.hasOwn(q, name) ? q[name] : undefined;
  if (value === undefined) return "";
  if (typeof value !== "string") throw invalid(`${name} must be given once`);
  return value;
}

/** A hashtag as a path segment ("cats" or "#cats"): one that cannot be a tag is not found. */
export function pathTag(raw: string): string {
  const tag = raw.replace(/^#/, "").normalize("NFKC").toLowerCase();
  if (!/^[\p{L}\p{N}_]{1,64}$/u.test(tag) || /^[0-9]+$/.test(tag)) throw notFound("no such tag");
  return tag;
}
