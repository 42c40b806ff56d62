import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Profile } from "../../gen/flock/posts/v1/posts.js";
import type { WebContext } from "../context.js";
import { optionalUser, requireUser } from "./auth.js";
import { MastodonBackend } from "./backend.js";
import { account, credentialAccount, relationship } from "./entities.js";
import {
  flag,
  limitOf,
  list,
  MastodonError,
  notFound,
  paramsOf,
  setCursorLink,
  text,
  unprocessable,
} from "./http.js";
import { statusPage } from "./timelines.js";

type IdParams = { Params: { id: string } };

const READ_ACCOUNTS = ["read", "read:accounts"];
const READ_STATUSES = ["read", "read:statuses"];

/** Accounts: the caller's own, lookups, an account's statuses and follows, relationships and actions. */
/** `shared`: the route constraint that sends OAuth-token requests here on paths Flock's own API also has. */
export function accountRoutes(app: FastifyInstance, ctx: WebContext, shared: Record<string, string>): void {
  app.get("/api/v1/accounts/verify_credentials", async (request) => {
    const caller = await requireUser(ctx, request, ["read", "read:accounts", "profile"]);
    const api = new MastodonBackend(ctx, request, caller);
    return credentialAccount(await api.profileByName(caller.username), api.origin);
  });

  app.patch("/api/v1/accounts/update_credentials", async (request) => {
    const caller = await requireUser(ctx, request, ["write", "write:accounts"]);
    const api = new MastodonBackend(ctx, request, caller);
    const params = paramsOf(request);
    const current = await api.profileByName(caller.username);
    // Only the fields sent change (Mastodon's semantics); the others keep their values.
    const displayName = text(params, "display_name", 1000) ?? current.displayName;
    const bio = text(params, "note", 2000) ?? current.bio;
    const c = api.clients;
    await api.run(c.call(c.accounts, c.accounts.updateProfile, { displayName, bio }, api.as()));
    return credentialAccount(await api.profileByName(caller.username), api.origin);
  });

  app.get("/api/v1/accounts/lookup", async (request) => {
    const caller = await optionalUser(ctx, request, READ_ACCOUNTS);
    const api = new MastodonBackend(ctx, request, caller);
    const acct = (text(paramsOf(request), "acct", 300) ?? "").replace(/^@/, "");
    const [name, domain] = acct.split("@");
    if (!name || (domain !== undefined && domain !== new URL(api.origin).host)) throw notFound();
    return account(await api.profileByName(name), api.origin);
  });

  app.get("/api/v1/accounts/search", async (request) => {
    const caller = await optionalUser(ctx, request, ["read", "read:accounts"]);
    const api = new MastodonBackend(ctx, request, caller);
    const params = paramsOf(request);
    return searchAccounts(api, text(params, "q", 200) ?? "", limitOf(params, 40, 80));
  });

  app.get("/api/v1/accounts/relationships", async (request) => {
    const caller = await requireUser(ctx, request, ["read", "read:follows", "follow"]);
    const api = new MastodonBackend(ctx, request, caller);
    const ids = list(paramsOf(request), "id", 100).filter((id) => /^[1-9][0-9]{0,15}$/.test(id));
    if (ids.length === 0) return [];
    const profiles = await api.profiles([], ids);
    const byId = new Map([...profiles.values()].map((p) => [p.id, p.username]));
    const c = api.clients;
    const { relationships } = await api.run(
      c.call(c.graph, c.graph.getRelationships, { usernames: [...profiles.keys()] }, api.as()),
    );
    const byName = new Map(relationships.map((r) => [r.username, r]));
    return ids.flatMap((id) => {
      const rel = byName.get(byId.get(id) ?? "");
      return rel ? [relationship(rel, id)] : [];
    });
  });

  app.get<IdParams>("/api/v1/accounts/:id", async (request) => {
    const caller = await optionalUser(ctx, request, READ_ACCOUNTS);
    const api = new MastodonBackend(ctx, request, caller);
    return account(await api.profileById(request.params.id), api.origin);
  });

  app.get<IdParams>("/api/v1/accounts/:id/statuses", async (request, reply) => {
    const caller = await optionalUser(ctx, request, READ_STATUSES);
    const api = new MastodonBackend(ctx, request, caller);
    const profile = await api.profileById(request.params.id);
    const params = paramsOf(request);
    // Flock has no pinned posts and no media: those lists are empty, not errors.
    if (flag(params, "pinned") || flag(params, "only_media")) return [];
    const tagged = text(params, "tagged", 100)?.replace(/^#/, "").toLowerCase();
    const c = api.clients;
    return statusPage(
      api,
      reply,
      params,
      `/api/v1/accounts/${profile.id}/statuses`,
      ["exclude_replies", "exclude_reblogs", "tagged"],
      async (limit, cursor, afterId) =>
        (
          await api.run(
            c.call(
              c.posts,
              c.posts.listUserPosts,
              { username: profile.username, limit, cursor, afterId },
              api.as(),
            ),
          )
        ).items,
      (item) =>
        !(flag(params, "exclude_replies") && item.post!.inReplyTo !== "" && item.repostedBy === "") &&
        !(flag(params, "exclude_reblogs") && item.repostedBy !== "") &&
        (tagged === undefined || item.post!.tags.includes(tagged)),
    );
  });

  for (const which of ["followers", "following"] as const) {
    app.get<IdParams>(`/api/v1/accounts/:id/${which}`, async (request, reply) => {
      const caller = await optionalUser(ctx, request, READ_ACCOUNTS);
      const api = new MastodonBackend(ctx, request, caller);
      const profile = await api.profileById(request.params.id);
      const params = paramsOf(request);
      const c = api.clients;
      const call = {
        username: profile.username,
        limit: limitOf(params, 40, 80),
        cursor: cursorParam(params),
      };
      const page = await api.run(
        which === "followers"
          ? c.call(c.graph, c.graph.listFollowers, call, api.as(false))
          : c.call(c.graph, c.graph.listFollowing, call, api.as(false)),
      );
      return accountPage(api, reply, `/api/v1/accounts/${profile.id}/${which}`, params, page);
    });
  }

  const actions = [
    ["follow", ["follow", "write", "write:follows"]],
    ["unfollow", ["follow", "write", "write:follows"]],
    ["block", ["follow", "write", "write:blocks"]],
    ["unblock", ["follow", "write", "write:blocks"]],
    ["mute", ["follow", "write", "write:mutes"]],
    ["unmute", ["follow", "write", "write:mutes"]],
  ] as const;
  for (const [action, scopes] of actions) {
    app.post<IdParams>(`/api/v1/accounts/:id/${action}`, async (request) => {
      const caller = await requireUser(ctx, request, scopes);
      const api = new MastodonBackend(ctx, request, caller);
      const profile = await api.profileById(request.params.id);
      const c = api.clients;
      const target = { username: profile.username };
      if (profile.username === caller.username)
        throw unprocessable(`Validation failed: you cannot ${action} yourself`);
      const run = {
        follow: () => c.call(c.graph, c.graph.follow, target, api.as()),
        unfollow: () => c.call(c.graph, c.graph.unfollow, target, api.as()),
        block: () => c.call(c.graph, c.graph.block, target, api.as()),
        unblock: () => c.call(c.graph, c.graph.unblock, target, api.as()),
        mute: () => c.call(c.graph, c.graph.mute, target, api.as()),
        unmute: () => c.call(c.graph, c.graph.unmute, target, api.as()),
      }[action];
      await api.run(run());
      const { relationships } = await api.run(
        c.call(c.graph, c.graph.getRelationships, { usernames: [profile.username] }, api.as()),
      );
      const rel = relationships[0];
      if (!rel) throw notFound();
      return relationship(rel, profile.id);
    });
  }

  // Flock's own API has these paths too: only requests with an OAuth token come here.
  for (const [path, scopes] of [
    ["/api/v1/blocks", ["follow", "read", "read:blocks"]],
    ["/api/v1/mutes", ["follow", "read", "read:mutes"]],
  ] as const) {
    app.get(path, { constraints: shared }, async (request, reply) => {
      const caller = await requireUser(ctx, request, scopes);
      const api = new MastodonBackend(ctx, request, caller);
      const params = paramsOf(request);
      const c = api.clients;
      const call = { limit: limitOf(params, 40, 80), cursor: cursorParam(params) };
      const page = await api.run(
        path === "/api/v1/blocks"
          ? c.call(c.graph, c.graph.listBlocks, call, api.as())
          : c.call(c.graph, c.graph.listMutes, call, api.as()),
      );
      return accountPage(api, reply, path, params, page);
    });
  }
}

/** An opaque page cursor a Link header handed out as `max_id` (account lists page by name). */
function cursorParam(params: Record<string, unknown>): string {
  const raw = text(params, "max_id", 600) ?? "";
  return /^[A-Za-z0-9_-]{1,512}$/.test(raw) ? raw : "";
}

async function accountPage(
  api: MastodonBackend,
  reply: FastifyReply,
  path: string,
  params: Record<string, unknown>,
  page: { usernames: string[]; nextCursor: string },
) {
  const profiles = await api.profiles(page.usernames);
  setCursorLink(reply, api.origin, path, { limit: text(params, "limit", 10) }, page.nextCursor);
  return page.usernames.flatMap((name) => {
    const profile = profiles.get(name);
    return profile ? [account(profile, api.origin)] : [];
  });
}

/** Accounts whose name starts with the query (`@name` or `name@this-host` too). */
export async function searchAccounts(api: MastodonBackend, q: string, limit: number) {
  const prefix = q.trim().replace(/^@/, "").split("@")[0]!.toLowerCase();
  if (!/^[a-z0-9_]{1,32}$/.test(prefix)) return [];
  const c = api.clients;
  const { usernames } = await api.run(
    c.call(c.accounts, c.accounts.searchAccounts, { prefix, limit }, api.as(false)),
  );
  const profiles = await api.profiles(usernames);
  return usernames.flatMap((name) => {
    const profile: Profile | undefined = profiles.get(name);
    return profile ? [account(profile, api.origin)] : [];
  });
}

/** Mastodon's sign-up endpoint, for requests made with an OAuth token (see routes.ts). */
export function registrationNotSupported(request: FastifyRequest, origin: string): never {
  void request;
  throw new MastodonError(501, `Signing up through the API is not supported: sign up at ${origin}/signup`);
}
