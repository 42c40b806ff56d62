import { createHash, randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Post } from "../../gen/flock/posts/v1/posts.js";
import type { WebContext } from "../context.js";
import { optionalUser, requireUser } from "./auth.js";
import { MastodonBackend } from "./backend.js";
import { account, feedStatus } from "./entities.js";
import {
  limitOf,
  list,
  MastodonError,
  notFound,
  paramsOf,
  setCursorLink,
  text,
  unprocessable,
} from "./http.js";

type IdParams = { Params: { id: string } };

const READ = ["read", "read:statuses"];
const WRITE = ["write", "write:statuses"];
/** Descendants a context answers at most, and thread levels it walks (Mastodon's anonymous bounds). */
const MAX_DESCENDANTS = 60;
const MAX_DEPTH = 20;
const MAX_THREAD_CALLS = 30;

const ID = /^[1-9][0-9]{0,15}$/;

function statusId(raw: string): string {
  if (!ID.test(raw)) throw notFound();
  return raw;
}

/**
 * A client's Idempotency-Key as the backend takes it (1–64 of [A-Za-z0-9_-]): as is when it
 * fits, else its hash, so any key a client sends still makes a retry return the first post.
 */
function idempotencyKeyOf(header: unknown): string {
  if (typeof header !== "string" || header === "") return "";
  if (/^[A-Za-z0-9_-]{1,64}$/.test(header)) return header;
  return createHash("sha256").update(header).digest("base64url");
}

/** Statuses: post (with reply and idempotency), read, delete, context, favourites and reblogs. */
export function statusRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post("/api/v1/statuses", async (request) => {
    const caller = await requireUser(ctx, request, WRITE);
    const api = new MastodonBackend(ctx, request, caller);
    const params = paramsOf(request);
    const body = text(params, "status", 10_000);
    if (body === undefined || body.trim() === "")
      throw unprocessable("Validation failed: Text can't be blank");
    // What Flock cannot honour is refused rather than dropped: a dropped content warning or
    // visibility would publish what the user meant to hide.
    const visibility = text(params, "visibility", 20);
    if (visibility !== undefined && visibility !== "" && visibility !== "public" && visibility !== "unlisted")
      throw unprocessable(
        `Validation failed: Flock posts are public; visibility "${visibility.slice(0, 20)}" is not offered`,
      );
    if ((text(params, "spoiler_text", 1000) ?? "") !== "")
      throw unprocessable("Validation failed: content warnings (spoiler_text) are not offered");
    if (list(params, "media_ids", 10).length > 0)
      throw unprocessable("Validation failed: media is not offered");
    if (params.poll !== undefined || Object.keys(params).some((k) => k.startsWith("poll[")))
      throw unprocessable("Validation failed: polls are not offered");
    if ((text(params, "scheduled_at", 100) ?? "") !== "")
      throw unprocessable("Validation failed: scheduled posts are not offered");
    const inReplyTo = text(params, "in_reply_to_id", 40) ?? "";
    if (inReplyTo !== "" && !ID.test(inReplyTo)) throw notFound();
    const c = api.clients;
    const post = await api.run(
      c.call(
        c.posts,
        c.posts.createPost,
        {
          text: body,
          idempotencyKey: idempotencyKeyOf(request.headers["idempotency-key"]),
          requestId: randomUUID(),
          inReplyTo,
        },
        api.as(),
      ),
    );
    return (await api.statuses([post]))[0];
  });

  app.get<IdParams>("/api/v1/statuses/:id", async (request) => {
    const caller = await optionalUser(ctx, request, READ);
    const api = new MastodonBackend(ctx, request, caller);
    const c = api.clients;
    const post = await api.run(
      c.call(c.posts, c.posts.getPost, { id: statusId(request.params.id) }, api.as()),
    );
    return (await api.statuses([post]))[0];
  });

  app.delete<IdParams>("/api/v1/statuses/:id", async (request) => {
    const caller = await requireUser(ctx, request, WRITE);
    const api = new MastodonBackend(ctx, request, caller);
    const c = api.clients;
    const answer = await api
      .run(c.call(c.posts, c.posts.deletePost, { id: statusId(request.params.id) }, api.as()))
      .catch((err: unknown) => {
        // Someone else's status is not found, as on Mastodon (its lookup is the caller's own).
        if (err instanceof MastodonError && err.statusCode === 403) throw notFound();
        throw err;
      });
    const [deleted] = await api.statuses([answer.post!]);
    // The plain text too, so a client can "delete and redraft".
    return { ...deleted, text: answer.post!.text };
  });

  app.get<IdParams>("/api/v1/statuses/:id/context", async (request) => {
    const caller = await optionalUser(ctx, request, READ);
    const api = new MastodonBackend(ctx, request, caller);
    const id = statusId(request.params.id);
    const c = api.clients;
    const thread = await api.run(
      c.call(c.posts, c.posts.getThread, { id, limit: 100, cursor: "" }, api.as()),
    );
    const ancestors = thread.ancestors.filter((p) => !p.deleted);
    // Descendants in thread order (depth first, oldest first), within bounds: each post with
    // replies costs one call, so a huge thread costs a bounded number of them.
    const descendants: Post[] = [];
    let calls = 1;
    const walk = async (replies: readonly Post[], depth: number): Promise<void> => {
      for (const reply of replies) {
        if (descendants.length >= MAX_DESCENDANTS) return;
        descendants.push(reply);
        if (reply.replies > 0 && depth < MAX_DEPTH && calls < MAX_THREAD_CALLS) {
          calls++;
          const below = await api.run(
            c.call(
              c.posts,
              c.posts.getThread,
              { id: reply.id, limit: MAX_DESCENDANTS, cursor: "" },
              api.as(),
            ),
          );
          await walk(below.replies, depth + 1);
        }
      }
    };
    await walk(thread.replies, 1);
    const all = await api.statuses([...ancestors, ...descendants]);
    return { ancestors: all.slice(0, ancestors.length), descendants: all.slice(ancestors.length) };
  });

  const react = (path: string, scopes: readonly string[], act: "like" | "unlike" | "repost" | "unrepost") =>
    app.post<IdParams>(`/api/v1/statuses/:id/${path}`, async (request) => {
      const caller = await requireUser(ctx, request, scopes);
      const api = new MastodonBackend(ctx, request, caller);
      const id = { id: statusId(request.params.id) };
      const c = api.clients;
      const answer = await api.run(
        {
          like: () => c.call(c.posts, c.posts.like, id, api.as()),
          unlike: () => c.call(c.posts, c.posts.unlike, id, api.as()),
          repost: () => c.call(c.posts, c.posts.repost, id, api.as()),
          unrepost: () => c.call(c.posts, c.posts.unrepost, id, api.as()),
        }[act](),
      );
      const post = answer.post!;
      if (act !== "repost") return (await api.statuses([post]))[0];
      // A reblog answers the new status that wraps the original (its own id, the reblogger's).
      const p = await api.presenterFor([post], [caller.username]);
      return feedStatus(p, {
        post,
        repostedBy: caller.username,
        repostedAtMs: Date.now(),
        entryId: answer.repostId ?? post.id,
      });
    });
  react("favourite", ["write", "write:favourites"], "like");
  react("unfavourite", ["write", "write:favourites"], "unlike");
  react("reblog", WRITE, "repost");
  react("unreblog", WRITE, "unrepost");

  for (const [path, which] of [
    ["favourited_by", "likes"],
    ["reblogged_by", "reposts"],
  ] as const) {
    app.get<IdParams>(`/api/v1/statuses/:id/${path}`, async (request, reply) => {
      const caller = await optionalUser(ctx, request, READ);
      const api = new MastodonBackend(ctx, request, caller);
      const params = paramsOf(request);
      const id = statusId(request.params.id);
      const rawCursor = text(params, "max_id", 600) ?? "";
      const call = {
        id,
        limit: limitOf(params, 40, 80),
        cursor: /^[A-Za-z0-9_-]{1,512}$/.test(rawCursor) && !ID.test(rawCursor) ? rawCursor : "",
      };
      const c = api.clients;
      const page = await api.run(
        which === "likes"
          ? c.call(c.posts, c.posts.listLikes, call, api.as(false))
          : c.call(c.posts, c.posts.listReposts, call, api.as(false)),
      );
      const profiles = await api.profiles(page.usernames);
      setCursorLink(
        reply,
        api.origin,
        `/api/v1/statuses/${id}/${path}`,
        { limit: text(params, "limit", 10) },
        page.nextCursor,
      );
      return page.usernames.flatMap((name) => {
        const profile = profiles.get(name);
        return profile ? [account(profile, api.origin)] : [];
      });
    });
  }

  // Known Mastodon status actions Flock does not offer: 501 in Mastodon's error shape.
  for (const path of ["bookmark", "unbookmark", "pin", "unpin", "mute", "unmute", "translate"]) {
    app.post(`/api/v1/statuses/:id/${path}`, async (_request, reply: FastifyReply) => notOffered(reply));
  }
  app.put("/api/v1/statuses/:id", async (_request, reply) => notOffered(reply));
  app.get("/api/v1/statuses/:id/history", async (_request, reply) => notOffered(reply));
  app.get("/api/v1/statuses/:id/source", async (_request, reply) => notOffered(reply));
}

export function notOffered(reply: FastifyReply) {
  return reply.code(501).send({ error: "Not implemented: Flock does not offer this" });
}
