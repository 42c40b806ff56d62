import type { FastifyInstance } from "fastify";
import { invalid } from "../../shared/errors.js";
import { normalizePostText } from "../../shared/validation.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import { objectBody, pageQuery, requireToken, stringField } from "./params.js";

/** Writing posts and reading the home feed. */
export function postRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post("/api/v1/posts", async (request, reply) => {
    const token = requireToken(tokenFromHeader(request));
    const text = normalizePostText(stringField(objectBody(request.body), "text"));
    const key = request.headers["idempotency-key"] ?? "";
    if (typeof key !== "string") throw invalid("Idempotency-Key must be given once");
    const post = await backendApi(ctx, request).createPost(token, text, key);
    return reply.code(201).send(post);
  });

  app.get("/api/v1/feed", async (request) => {
    const token = requireToken(tokenFromHeader(request));
    const { limit, cursor } = pageQuery(request.query);
    return (await backendApi(ctx, request).feed(token, limit, cursor)).page;
  });
}
