import { decodeCursor, encodeCursor } from "../../shared/cursor.js";
import type { AccountDirectory, Authenticator, FeedSync } from "../deps.js";
import { invalid, notFound } from "../../shared/errors.js";
import { systemClock, type Clock } from "../../shared/clock.js";
import {
  isValidUsername,
  normalizeLimit,
  normalizeUsername,
  PAGE_LIMIT_MAX,
} from "../../shared/validation.js";
import { StoredFollowGraph } from "./follow-graph.js";
import type { GraphStorage } from "./storage.js";

export interface GraphDeps {
  auth: Authenticator;
  accounts: AccountDirectory;
  /** Brings a reader's feed in line after each follow or unfollow (the posts service, or a peer's). */
  feed: FeedSync;
}

export interface UserPage {
  usernames: string[];
  nextCursor: string;
}

/**
 * Who follows whom. Every change acts for the user behind the session token. The reads other
 * services need (FollowGraph) come from StoredFollowGraph, which this extends.
 */
export class GraphService extends StoredFollowGraph {
  constructor(
    storage: GraphStorage,
    private readonly deps: GraphDeps,
    private readonly clock: Clock = systemClock,
  ) {
    super(storage);
  }

  async follow(token: string, rawTarget: unknown): Promise<void> {
    const me = await this.deps.auth.authenticate(token);
    const target = normalizeUsername(rawTarget);
    if (target === me) throw invalid("you cannot follow yourself");
    if (!(await this.deps.accounts.exists(target))) throw notFound(`no user "${target}"`);
    await this.storage.follow(me, target, this.clock.now());
    await this.deps.feed.syncFeedWithFollow(me, target);
  }

  async unfollow(token: string, rawTarget: unknown): Promise<void> {
    const me = await this.deps.auth.authenticate(token);
    const target = normalizeUsername(rawTarget);
    if (target === me) throw invalid("you cannot unfollow yourself");
    await this.storage.unfollow(me, target);
    await this.deps.feed.syncFeedWithFollow(me, target);
  }

  async counts(rawUser: unknown): Promise<{ followers: number; following: number }> {
    const user = normalizeUsername(rawUser);
    const [followers, following] = await Promise.all([
      this.storage.countFollowers(user),
      this.storage.countFollowing(user),
    ]);
    return { followers, following };
  }

  listFollowing(rawUser: unknown, limit: number | undefined, cursor: string | undefined): Promise<UserPage> {
    return this.page(rawUser, limit, cursor, (user, after, n) => this.storage.listFollowing(user, after, n));
  }

  listFollowers(rawUser: unknown, limit: number | undefined, cursor: string | undefined): Promise<UserPage> {
    return this.page(rawUser, limit, cursor, (user, after, n) => this.storage.listFollowers(user, after, n));
  }

  private async page(
    rawUser: unknown,
    rawLimit: number | undefined,
    cursor: string | undefined,
    read: (user: string, after: string | undefined, limit: number) => Promise<string[]>,
  ): Promise<UserPage> {
    const user = normalizeUsername(rawUser);
    const limit = normalizeLimit(rawLimit);
    const after = decodeCursor(cursor, isValidUsername);
    const names = await read(user, after, Math.min(limit + 1, PAGE_LIMIT_MAX + 1));
    const usernames = names.slice(0, limit);
    const nextCursor = names.length > limit ? encodeCursor(usernames[usernames.length - 1]!) : "";
    return { usernames, nextCursor };
  }
}
