import { decodeCursor, encodeCursor } from "../../shared/cursor.js";
import { invalid, notFound, unauthenticated } from "../../shared/errors.js";
import {
  isValidUsername,
  normalizeLimit,
  normalizeUsername,
  PAGE_LIMIT_MAX,
} from "../../shared/validation.js";
import type { Freshness } from "../../storage/watch-cache.js";
import type { AccountsView } from "../accounts/view.js";
import type { Authenticator } from "../auth.js";
import type { FollowOutcome, GraphFacts } from "./facts.js";
import type { GraphView } from "./view.js";

export interface UserPage {
  usernames: string[];
  nextCursor: string;
}

/**
 * Who follows whom. Changes act for the user behind the session token and are one fact
 * each; reads come from this backend's view of the graph, made fresh first.
 */
export class GraphService {
  constructor(
    private readonly facts: GraphFacts,
    private readonly view: GraphView,
    private readonly accounts: AccountsView,
    private readonly freshness: Freshness,
    private readonly auth: Authenticator,
  ) {}

  async follow(token: string, rawTarget: unknown): Promise<void> {
    const viewer = await this.auth.authenticateForWrite(token);
    const target = normalizeUsername(rawTarget);
    if (target === viewer.username) throw invalid("you cannot follow yourself");
    let account = this.accounts.account(target);
    if (!account) {
      // Perhaps an account this view has not seen yet.
      await this.freshness.fresh();
      account = this.accounts.account(target);
      if (!account) throw notFound(`no user "${target}"`);
    }
    await this.settle(await this.facts.follow(viewer, target, account.revision), target);
  }

  async unfollow(token: string, rawTarget: unknown): Promise<void> {
    const viewer = await this.auth.authenticateForWrite(token);
    const target = normalizeUsername(rawTarget);
    if (target === viewer.username) throw invalid("you cannot unfollow yourself");
    if (!this.view.isFollowing(viewer.username, target)) {
      // Perhaps a follow this view has not seen yet; if there is none, there is nothing to
      // write (and the session is checked as of now, as a write would have).
      await this.auth.authenticate(token);
      if (!this.view.isFollowing(viewer.username, target)) return;
    }
    await this.settle(await this.facts.unfollow(viewer, target), target);
  }

  async isFollowing(follower: string, followee: string): Promise<boolean> {
    if (!isValidUsername(follower) || !isValidUsername(followee)) return false;
    await this.freshness.fresh();
    return this.view.isFollowing(follower.toLowerCase(), followee.toLowerCase());
  }

  async counts(rawUser: unknown): Promise<{ followers: number; following: number }> {
    const user = normalizeUsername(rawUser);
    await this.freshness.fresh();
    return { followers: this.view.countFollowers(user), following: this.view.countFollowing(user) };
  }

  listFollowing(rawUser: unknown, limit: number | undefined, cursor: string | undefined): Promise<UserPage> {
    return this.page(rawUser, limit, cursor, (user, after, n) => this.view.followingPage(user, after, n));
  }

  listFollowers(rawUser: unknown, limit: number | undefined, cursor: string | undefined): Promise<UserPage> {
    return this.page(rawUser, limit, cursor, (user, after, n) => this.view.followersPage(user, after, n));
  }

  private async settle(outcome: FollowOutcome, target: string): Promise<void> {
    if (outcome.kind === "session-gone") throw unauthenticated("session expired or revoked");
    if (outcome.kind === "no-such-user") throw notFound(`no user "${target}"`);
    await this.freshness.reached(outcome.revision);
  }

  private async page(
    rawUser: unknown,
    rawLimit: number | undefined,
    cursor: string | undefined,
    read: (user: string, after: string | undefined, limit: number) => string[],
  ): Promise<UserPage> {
    const user = normalizeUsername(rawUser);
    const limit = normalizeLimit(rawLimit);
    const after = decodeCursor(cursor, isValidUsername);
    await this.freshness.fresh();
    const names = read(user, after, Math.min(limit + 1, PAGE_LIMIT_MAX + 1));
    const usernames = names.slice(0, limit);
    const nextCursor = names.length > limit ? encodeCursor(usernames[usernames.length - 1]!) : "";
    return { usernames, nextCursor };
  }
}
