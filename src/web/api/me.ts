import type { FastifyInstance } from "fastify";
import { invalid } from "../../shared/errors.js";
import { normalizeBio, normalizeDisplayName } from "../../shared/validation.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import { objectBody, optionalStringField, requireToken } from "./params.js";

/** The token's own profile: read it, and change its display name and bio. */
export function meRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get("/api/v1/me", async (request) => {
    const token = requireToken(tokenFromHeader(request));
    const api = backendApi(ctx, request);
    return api.profile(await api.whoAmI(token));
  });

  /**
   * `{displayName, bio}`, each optional: a field left out keeps its value, null clears it (so
   * does an empty bio). A display name given as text is 1–50 code points, a bio at most 160.
   */
  app.patch("/api/v1/me", async (request) => {
    const token = requireToken(tokenFromHeader(request));
    const body = objectBody(request.body === undefined ? {} : request.body);
    const rawName = optionalStringField(body, "displayName");
    const rawBio = optionalStringField(body, "bio");
    const displayName = rawName === undefined ? undefined : rawName === null ? "" : displayNameOf(rawName);
    const bio = rawBio === undefined ? undefined : rawBio === null ? "" : normalizeBio(rawBio);
    const api = backendApi(ctx, request);
    if (displayName !== undefined && bio !== undefined) return api.updateProfile(token, displayName, bio);
    // The backend sets both at once: a field left out is sent as it is now.
    const username = await api.whoAmI(token);
    if (displayName === undefined && bio === undefined) return api.profile(username);
    const current = await api.account(username);
    return api.updateProfile(token, displayName ?? current.displayName, bio ?? current.bio);
  });
}

function displayNameOf(raw: string): string {
  const name = normalizeDisplayName(raw);
  if (name === "") throw invalid("displayName must be 1–50 characters (send null to clear it)");
  return name;
}
