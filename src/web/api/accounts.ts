import type { FastifyInstance } from "fastify";
import { checkPassword, normalizeUsername } from "../../shared/validation.js";
import type { WebContext } from "../context.js";
import { unauthenticated } from "../../shared/errors.js";
import { backendApi } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import { objectBody, requireToken, stringField } from "./params.js";

/** Sign-up, log-in and log-out for API clients. */
export function accountRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post("/api/v1/accounts", async (request, reply) => {
    const body = objectBody(request.body);
    const username = normalizeUsername(stringField(body, "username"));
    const password = checkPassword(stringField(body, "password"));
    const created = await backendApi(ctx, request).createAccount(username, password);
    return reply.code(201).send({ username: created });
  });

  app.post("/api/v1/sessions", async (request, reply) => {
    const body = objectBody(request.body);
    const username = normalizeUsername(stringField(body, "username"));
    const password = checkPassword(stringField(body, "password"));
    const session = await backendApi(ctx, request).login(username, password);
    return reply.code(201).send({
      token: session.token,
      username: session.username,
      expiresAt: new Date(session.expiresAtMs).toISOString(),
    });
  });

  app.delete("/api/v1/sessions/current", async (request, reply) => {
    const token = requireToken(tokenFromHeader(request));
    // One backend call: it revokes the session and says whose it was ("" for none: 401).
    const revoked = await backendApi(ctx, request).logout(token);
    if (revoked === "") throw unauthenticated("session expired or revoked");
    return reply.code(204).send();
  });
}
