import type { FastifyRequest } from "fastify";
import type {
  FeedItem,
  Notification as FlockNotification,
  Post,
  Profile,
} from "../../gen/flock/posts/v1/posts.js";
import type { BackendClients, CallContext } from "../../grpc/client.js";
import type { WebContext } from "../context.js";
import { type Caller } from "./auth.js";
import { feedStatus, notification, status, type MastodonStatus, type Presenter } from "./entities.js";
import { mastodonErrorOf, notFound, originOf } from "./http.js";

/**
 * The Mastodon layer's way into the backend, for one request: gRPC calls with the caller's
 * token (when it acts for a user) and the request id, their failures in Mastodon's error
 * shape, and hydration: a page of posts becomes Statuses with one GetProfiles call for every
 * account they name.
 */
export class MastodonBackend {
  readonly origin: string;
  readonly clients: BackendClients;
  private readonly requestId: string;

  constructor(
    readonly ctx: WebContext,
    /** The HTTP request (or, for a stream, its id and origin). */
    source: FastifyRequest | { id: string; origin: string },
    /** The caller, when the request carries a token; its user's token goes with reads. */
    readonly caller?: Caller,
  ) {
    this.origin =
      "origin" in source && typeof source.origin === "string"
        ? source.origin
        : originOf(ctx, source as FastifyRequest);
    this.requestId = source.id;
    this.clients = ctx.backend;
  }

  /** The user the request acts for ("" when anonymous or an app's own token). */
  get viewer(): string {
    return this.caller?.username ?? "";
  }

  private get userToken(): string | undefined {
    return this.caller && this.caller.username !== "" ? this.caller.token : undefined;
  }

  /** The context of a call; `asUser` sends the caller's token (reads that depend on who asks, and every write). */
  as(asUser = true): CallContext {
    const context: CallContext = { requestId: this.requestId };
    if (asUser && this.userToken) context.token = this.userToken;
    return context;
  }

  /** Awaits a backend call, its failure in Mastodon's error shape. */
  async run<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      throw mastodonErrorOf(err);
    }
  }

  /** Accounts with their counts, by name or id (unknown ones left out), keyed by username. */
  async profiles(usernames: readonly string[], ids: readonly string[] = []): Promise<Map<string, Profile>> {
    const names = [...new Set(usernames.filter((n) => n !== ""))];
    if (names.length === 0 && ids.length === 0) return new Map();
    const c = this.clients;
    const answer = await this.run(
      c.call(c.posts, c.posts.getProfiles, { usernames: names, ids: [...ids] }, this.as(false)),
    );
    return new Map(answer.profiles.map((p) => [p.username, p]));
  }

  /** The account with this numeric id; 404 when there is none. */
  async profileById(id: string): Promise<Profile> {
    if (!/^[1-9][0-9]{0,15}$/.test(id)) throw notFound();
    const [profile] = (await this.profiles([], [id])).values();
    if (!profile) throw notFound();
    return profile;
  }

  async profileByName(username: string): Promise<Profile> {
    const profile = (await this.profiles([username])).get(username.toLowerCase());
    if (!profile) throw notFound();
    return profile;
  }

  /** A presenter holding every account the posts name (authors, parents' authors, mentions). */
  async presenterFor(posts: readonly Post[], more: readonly string[] = []): Promise<Presenter> {
    const names = [...more];
    for (const post of posts) names.push(post.author, post.inReplyToAuthor, ...post.mentions);
    return { origin: this.origin, profiles: await this.profiles(names), viewer: this.viewer };
  }

  async statuses(posts: readonly Post[]): Promise<MastodonStatus[]> {
    const p = await this.presenterFor(posts);
    return posts.map((post) => status(p, post));
  }

  async feedStatuses(items: readonly FeedItem[]): Promise<MastodonStatus[]> {
    const p = await this.presenterFor(
      items.map((i) => i.post!),
      items.map((i) => i.repostedBy),
    );
    return items.map((item) => feedStatus(p, item));
  }

  async notifications(list: readonly FlockNotification[]) {
    const p = await this.presenterFor(
      list.flatMap((n) => (n.post ? [n.post] : [])),
      list.map((n) => n.from),
    );
    return list.map((n) => notification(p, n));
  }
}
