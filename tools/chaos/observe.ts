import { setTimeout as sleep } from "node:timers/promises";
import type { FinalState } from "./checker.js";
import type { Op, PostView } from "./history.js";
import { send, type Reply, type RequestOptions } from "./http.js";

const PAGE = 100;
const MAX_PAGES = 5_000;
const READ_ATTEMPTS = 8;
const PARALLEL = 6;

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
  };

  const users = [...new Set(ops.filter((o) => o.type === "signup" || o.type === "login").map((o) => o.user))];
  await forEach(users, async (user) => {
    const reply = await api("GET", `/api/v1/users/${encodeURIComponent(user)}`);
    if (reply.status !== 200 && reply.status !== 404) throw unexpected("profile", user, reply);
    state.exists.set(user, reply.status === 200);
  });
  const existing = users.filter((u) => state.exists.get(u));

  await forEach(existing, async (user) => {
    state.posts.set(
      user,
      await pages<PostView>(api, `/api/v1/users/${encodeURIComponent(user)}/posts`, "posts"),
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
    ...new Set(ops.filter((o) => o.type === "follow" || o.type === "unfollow").map((o) => o.user)),
  ];
  await forEach(
    readers.filter((r) => tokens.has(r)),
    async (reader) => {
      state.feeds.set(reader, await pages<PostView>(api, "/api/v1/feed", "posts", tokens.get(reader)));
    },
  );

  // Last, since it would create an account where one was lost: a name taken must stay taken.
  await forEach([...acked.keys()], async (user) => {
    const reply = await api("POST", "/api/v1/accounts", {
      json: { username: user, password: `another-password-${user}` },
    });
    state.resignups.set(user, reply.status);
  });
  return state;
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
  field: "posts" | "usernames",
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

async function forEach<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

function unexpected(what: string, subject: string, reply: Reply): Error {
  return new Error(
    `final read ${what} ${subject}: status ${reply.status}${reply.error ? ` (${reply.error})` : ""} ` +
      JSON.stringify(reply.body ?? "").slice(0, 200),
  );
}
