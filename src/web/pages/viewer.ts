import { status } from "@grpc/grpc-js";
import type { FastifyRequest } from "fastify";
import { FlockError } from "../../shared/errors.js";
import type { Flock } from "../backend-api.js";
import { tokenFromCookie } from "../session.js";

export interface Viewer {
  username: string;
  token: string;
}

/** Who is looking at a page: the backend's answer for the session cookie, or undefined. */
export async function viewerOf(request: FastifyRequest, api: Flock): Promise<Viewer | undefined> {
  const token = tokenFromCookie(request);
  if (token === "") return undefined;
  try {
    return { username: await api.whoAmI(token), token };
  } catch (err) {
    if (err instanceof FlockError && err.code === status.UNAUTHENTICATED) return undefined;
    throw err;
  }
}
