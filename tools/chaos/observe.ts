import { setTimeout as sleep } from "node:timers/promises";
import type { FinalState, NotificationView } from "./checker.js";
import type { Op, PostView } from "./history.js";
import { send, type Reply, type RequestOptions } from "./http.js";

const PAGE = 100;
const MAX_PAGES = 5_000;
const READ_ATTEMPTS = 8;
const PARALLEL = 6;
/** Reads of one post and its lists are small: more of them at once. */
const SMALL_READS_PARALLEL = 12;

/**
 * Reads the final state through the public API once the cluster has healed: who exists,
 * every author's posts, every follow list, every feed, whether each acknowledged account
 * logs in and each acknowledged session still works. A read that keeps failing is an error
 * (the healed system must answer), not a verdict.
 */
export async function observe(baseUrl: string, ops: readonly Op[]): Promise<FinalState> {
  const api = (method: string, path: string, options?: RequestOptions) =>
    readWithRetry(baseUrl, method, path, options);
  const state: FinalState = {
    exists: new Map(),
    posts: new Map(),
    following: new Map(),
    feeds: new Map(),
    logins: new Map(),
    sessions: new Map(),
    resignups: new Map(),
    reposted: new Map(),
    postReads: new Map(),
    likers: new Map(),
    reposters: new Map(),
    threadReplies: new Map(),
    notifications: new Map(),
  };

  const users = [...new Set(ops.filter((o) => o.type === "signup" || o.type === "login").map((o) => o.user))];
  await forEach(users, async (user) => {
    const reply = await api("GET", `/api/v1/users/${encodeURIComponent(user)}`);
    if (reply.status !== 200 && reply.status !== 404) throw unexpected("profile", user, reply);
    state.exists.set(user, reply.status === 200);
  });
  const existing = users.filter((u) => state.exists.get(u));

  await forEach(existing, async (user) => {
    // A page holds the user's posts and their reposts (other authors' posts, with repostedBy).
    const page = await pages<PostView>(api, `/api/v1/users/${encodeURIComponent(user)}/posts`, "posts");
    state.posts.set(user, ownPosts(user, page));
    state.reposted.set(
      user,
      page.filter((p) => p.repostedBy).map((p) => p.id),
    );
    state.following.set(
      user,
      await pages<string>(api, `/api/v1/users/${encodeURIComponent(user)}/following`, "usernames"),
    );
  });

  // Each acknowledged account logs in with the password of its (last) acknowledged signup.
  const tokens = new Map<string, string>();
  const acked = new Map<string, string>();
  for (const op of ops) if (op.type === "signup" && op.outcome === "ok") acked.set(op.user, op.password!);
  await forEach([...acked], async ([user, password]) => {
    const reply = await api("POST", "/api/v1/sessions", { json: { username: user, password } });
    state.logins.set(user, reply.status);
    if (reply.status === 201) tokens.set(user, (reply.body as { token: string }).token);
  });

  const loginOps = ops.filter((o) => o.type === "login" && o.outcome === "ok" && o.token);
  await forEach(loginOps, async (op) => {
    const reply = await api("GET", "/api/v1/feed?limit=1", { token: op.token });
    state.sessions.set(op.token!, reply.status);
    if (reply.status === 200 && !tokens.has(op.user)) tokens.set(op.user, op.token!);
  });

  const readers = [
    ...new Set(
      ops.filter((o) => ["follow", "unfollow", "block", "unblock"].includes(o.type)).map((o) => o.user),
    ),
  ];
  // The feeds, notifications, posts and threads below are read side by side.
  const feedsRead = forEach(
    readers.filter((r) => tokens.has(r)),
    async (reader) => {
      state.feeds.set(reader, await pages<PostView>(api, "/api/v1/feed", "posts", tokens.get(reader)));
    },
  );

  // Every account's notifications (all pages), as far as the checker can log in as it.
  const involved = new Set<string>();
  for (const o of ops) {
    if (o.type === "signup" || o.type === "login") continue;
    involved.add(o.user);
    if (o.target) involved.add(o.target);
  }
  const notificationsRead = forEach(
    [...tokens.keys()].filter((u) => involved.has(u)),
    async (user) => {
      state.notifications.set(
        user,
        await pages<NotificationView>(api, "/api/v1/notifications", "notifications", tokens.get(user)),
      );
    },
  );

  // Each post a like, a repost or a delete was sent for: the post itself (or its 404), who
  // liked and reposted it; and the replies of the parent of every reply deleted.
  const acted = new Set<string>();
  const deleted = new Set<string>();
  const parents = new Set<string>();
  for (const o of ops) {
    if (["like", "unlike", "repost", "unrepost", "delete"].includes(o.type) && o.postId) acted.add(o.postId);
    if (o.type === "delete" && o.postId) deleted.add(o.postId);
  }
  for (const o of ops) {
    if (o.type === "reply" && o.postId && o.inReplyTo && deleted.has(o.postId)) parents.add(o.inReplyTo);
  }
  const postsRead = forEach(
    [...acted],
    async (id) => {
      const path = `/api/v1/posts/${encodeURIComponent(id)}`;
      const reply = await api("GET", path);
      if (reply.status !== 200 && reply.status !== 404) throw unexpected("GET", path, reply);
      state.postReads.set(id, {
        status: reply.status,
        post: reply.status === 200 ? (reply.body as PostView) : undefined,
      });
      if (reply.status !== 200) return;
      const [likers, reposters] = await Promise.all([
        pages<string>(api, `${path}/likes`, "usernames"),
        pages<string>(api, `${path}/reposts`, "usernames"),
      ]);
      state.likers.set(id, likers);
      state.reposters.set(id, reposters);
    },
    SMALL_READS_PARALLEL,
  );
  const threadsRead = forEach([...parents], async (id) => {
    const path = `/api/v1/posts/${encodeURIComponent(id)}/thread`;
    const first = await api("GET", `${path}?limit=${PAGE}`);
    if (first.status === 404) return;
    if (first.status !== 200) throw unexpected("GET", path, first);
    state.threadReplies.set(
      id,
      (await pages<PostView>(api, path, "replies")).map((p) => p.id),
    );
  });
  await Promise.all([feedsRead, notificationsRead, postsRead, threadsRead]);

  // Last, since it would create an account where one was lost: a name taken must stay taken.
  await forEach([...acked.keys()], async (user) => {
    const reply = await api("POST", "/api/v1/accounts", {
      json: { username: user, password: `another-password-${user}` },
    });
    state.resignups.set(user, reply.status);
  });
  return state;
}

/**
 * A user's own posts on their page, newest first: the entries that are not reposts, and the
 * posts of theirs they reposted themselves (a page shows a post once: the repost, the newer
 * entry, stands for it), put where their ids place them.
 */
export function ownPosts(user: string, page: readonly PostView[]): PostView[] {
  const own = page.filter((p) => !p.repostedBy);
  const ids = new Set(own.map((p) => p.id));
  for (const p of page) {
    if (!p.repostedBy || p.author !== user || ids.has(p.id)) continue;
    ids.add(p.id);
    const at = own.findIndex((q) => Number(q.id) < Number(p.id));
    own.splice(at < 0 ? own.length : at, 0, { ...p, repostedBy: null });
  }
  return own;
}

/** One read, retried while the answer is a 5xx or none at all. */
async function readWithRetry(
  baseUrl: string,
  method: string,
  path: string,
  options?: RequestOptions,
): Promise<Reply> {
  let reply: Reply = { status: 0, body: undefined };
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    reply = await send(baseUrl, method, path, options);
    if (reply.status !== 0 && reply.status < 500) return reply;
    await sleep(200 * attempt);
  }
  throw unexpected(method, path, reply);
}

async function pages<T>(
  api: (method: string, path: string, options?: RequestOptions) => Promise<Reply>,
  path: string,
  field: "posts" | "usernames" | "notifications" | "replies",
  token?: string,
): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor = "";
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = `?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const reply = await api("GET", path + query, { token });
    if (reply.status !== 200) throw unexpected("GET", path + query, reply);
    const body = reply.body as Record<string, unknown> & { nextCursor?: string | null };
    items.push(...(body[field] as T[]));
    if (!body.nextCursor) return items;
    if (seen.has(body.nextCursor)) throw new Error(`GET ${path}: cursor ${body.nextCursor} came back twice`);
    seen.add(body.nextCursor);
    cursor = body.nextCursor;
  }
  throw new Error(`GET ${path}: more than ${MAX_PAGES} pages`);
}

async function forEach<T>(
  items: readonly T[],
  fn: (item: T) => Promise<void>,
  parallel = PARALLEL,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

function unexpected(what: string, subject: string, reply: Reply): Error {
  return new Error(
    `final read ${what} ${subject}: status ${reply.status}${reply.error ? ` (${reply.error})` : ""} ` +
      JSON.stringify(reply.body ?? "").slice(0, 200),
  );
}
