import { status } from "@grpc/grpc-js";
import type { FastifyRequest } from "fastify";
import { FlockError, invalid, unauthenticated } from "../../shared/errors.js";
import type { BackendApi } from "../backend-api.js";
import { tokenFromCookie } from "../session.js";

/**
 * Who is looking at a page that makes no call acting for them: the backend's answer for the
 * session cookie, or undefined. (Pages that act for the viewer skip this and learn the name
 * from the call that checks the token anyway: see `sessionToken` and BackendApi.feed.)
 */
export async function viewerOf(request: FastifyRequest, api: BackendApi): Promise<string | undefined> {
  const token = tokenFromCookie(request);
  if (token === "") return undefined;
  try {
    return await api.whoAmI(token);
  } catch (err) {
    if (isUnauthenticated(err)) return undefined;
    throw err;
  }
}

/** The session cookie's token for a page that acts for the viewer; 401 (to /login) without one. */
export function sessionToken(request: FastifyRequest, reason: string): string {
  const token = tokenFromCookie(request);
  if (token === "") throw unauthenticated(reason);
  return token;
}

export function isUnauthenticated(err: unknown): boolean {
  return err instanceof FlockError && err.code === status.UNAUTHENTICATED;
}

/** Who looks at a page, the token their reads carry ("" when nobody), and their unread notifications. */
export interface PageViewer {
  viewer: string | undefined;
  token: string;
  unread: number;
}

/**
 * For pages that read on the viewer's behalf (their likes, blocks): the session is checked once,
 * and the unread count for the header is read beside it.
 */
export async function pageViewer(request: FastifyRequest, api: BackendApi): Promise<PageViewer> {
  const cookie = tokenFromCookie(request);
  if (cookie === "") return { viewer: undefined, token: "", unread: 0 };
  const [viewer, unread] = await Promise.all([viewerOf(request, api), api.unreadCount(cookie)]);
  return viewer === undefined ? { viewer, token: "", unread: 0 } : { viewer, token: cookie, unread };
}

/** The optional text field of a form ("" when absent); repeated, it is a 400. */
export function optionalFormField(body: unknown, name: string): string {
  const form = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const value = Object.hasOwn(form, name) ? form[name] : undefined;
  if (value === undefined) return "";
  if (typeof value !== "string") throw invalid(`${name} must be given once`);
  return value;
}

/** Whether the page's script asked for the JSON answer of a form (it then updates in place). */
export function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === "string" && /^application\/json\b/.test(accept);
}
