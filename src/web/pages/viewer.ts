import { status } from "@grpc/grpc-js";
import type { FastifyRequest } from "fastify";
import { FlockError, unauthenticated } from "../../shared/errors.js";
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
