import type { FastifyInstance } from "fastify";
import { invalid } from "../../shared/errors.js";
import { normalizePostText } from "../../shared/validation.js";
import type { WebContext } from "../context.js";
import { backendApi, type Reaction } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import {
  isPostId,
  objectBody,
  optionalStringField,
  pageQuery,
  pathPostId,
  requireToken,
  stringField,
} from "./params.js";

interface Params {
  id: string;
}

/** Writing, reading and deleting posts, their threads and reactions, and the home feed. */
export function postRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post("/api/v1/posts", async (request, reply) => {
    const token = requireToken(tokenFromHeader(request));
    const body = objectBody(request.body);
    const text = normalizePostText(stringField(body, "text"));
    const inReplyTo = optionalStringField(body, "inReplyTo") ?? "";
    if (inReplyTo !== "" && !isPostId(inReplyTo)) throw invalid("inReplyTo must be a post id");
    const key = request.headers["idempotency-key"] ?? "";
    if (typeof key !== "string") throw invalid("Idempotency-Key must be given once");
    const post = await backendApi(ctx, request).createPost(token, text, key, inReplyTo);
    return reply.code(201).send(post);
  });

  app.get("/api/v1/feed", async (request) => {
    const token = requireToken(tokenFromHeader(request));
    const { limit, cursor } = pageQuery(request.query);
    return (await backendApi(ctx, request).feed(token, limit, cursor)).page;
  });

  // Reads answer anyone; with a token they carry the viewer's own likes and reposts, and blocks apply.
  app.get<{ Params: Params }>("/api/v1/posts/:id", async (request) => {
    const id = pathPostId(request.params.id);
    return backendApi(ctx, request).post(tokenFromHeader(request), id);
  });

  app.get<{ Params: Params }>("/api/v1/posts/:id/thread", async (request) => {
    const id = pathPostId(request.params.id);
    const { limit, cursor } = pageQuery(request.query);
    return backendApi(ctx, request).thread(tokenFromHeader(request), id, limit, cursor);
  });

  app.delete<{ Params: Params }>("/api/v1/posts/:id", async (request, reply) => {
    const token = requireToken(tokenFromHeader(request));
    await backendApi(ctx, request).deletePost(token, pathPostId(request.params.id));
    return reply.code(204).send();
  });

  const reactions: [string, Reaction, Reaction][] = [
    ["like", "like", "unlike"],
    ["repost", "repost", "unrepost"],
  ];
  for (const [path, add, remove] of reactions) {
    for (const [method, action] of [
      ["PUT", add],
      ["DELETE", remove],
    ] as const) {
      app.route<{ Params: Params }>({
        method,
        url: `/api/v1/posts/:id/${path}`,
        handler: async (request, reply) => {
          const token = requireToken(tokenFromHeader(request));
          await backendApi(ctx, request).react(token, pathPostId(request.params.id), action);
          return reply.code(204).send();
        },
      });
    }
  }

  for (const list of ["likes", "reposts"] as const) {
    app.get<{ Params: Params }>(`/api/v1/posts/:id/${list}`, async (request) => {
      const id = pathPostId(request.params.id);
      const { limit, cursor } = pageQuery(request.query);
      return backendApi(ctx, request)[list](tokenFromHeader(request), id, limit, cursor);
    });
  }
}
