import { randomUUID } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { Post } from "../gen/flock/posts/v1/posts.js";
import type { WebContext } from "./context.js";

export interface PostView {
  id: string;
  author: string;
  text: string;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  /** null when there is nothing more. */
  nextCursor: string | null;
}

export interface Profile {
  username: string;
  followers: number;
  following: number;
  posts: number;
}

export function presentPost(post: Post): PostView {
  return {
    id: post.id,
    author: post.author,
    text: post.text,
    createdAt: new Date(post.createdAtMs).toISOString(),
  };
}

/**
 * The web tier's one way into the backend: each call is a gRPC call with a deadline,
 * carrying the request id and, when acting for a user, their token. Pages and the
 * JSON API both compose these; neither keeps anything between requests.
 */
export function flock(ctx: WebContext, request: FastifyRequest) {
  const { backend } = ctx;
  const requestId = request.id;
  const as = (token: string) => ({ token, requestId });
  const anon = { requestId };

  return {
    createAccount: async (username: string, password: string) =>
      (await backend.call(backend.accounts, backend.accounts.createAccount, { username, password }, anon))
        .username,

    login: (username: string, password: string) =>
      backend.call(
        backend.accounts,
        backend.accounts.login,
        { username, password, clientAddress: request.ip },
        anon,
      ),

    logout: async (token: string) => {
      await backend.call(backend.accounts, backend.accounts.logout, {}, as(token));
    },

    /** The user behind a token; UNAUTHENTICATED when there is none. */
    whoAmI: async (token: string) =>
      (await backend.call(backend.accounts, backend.accounts.authenticate, {}, as(token))).username,

    follow: async (token: string, username: string) => {
      await backend.call(backend.graph, backend.graph.follow, { username }, as(token));
    },

    unfollow: async (token: string, username: string) => {
      await backend.call(backend.graph, backend.graph.unfollow, { username }, as(token));
    },

    isFollowing: async (follower: string, followee: string) =>
      (await backend.call(backend.graph, backend.graph.getRelationship, { follower, followee }, anon))
        .following,

    /**
     * Without a key from the client, one is made per request: a call gRPC re-sends (after an
     * UNAVAILABLE whose outcome is unknown) then finds the post it made instead of a second.
     */
    createPost: async (token: string, text: string, idempotencyKey = "") =>
      presentPost(
        await backend.call(
          backend.posts,
          backend.posts.createPost,
          { text, idempotencyKey: idempotencyKey || `auto-${randomUUID()}` },
          as(token),
        ),
      ),

    feed: async (token: string, limit: number, cursor: string): Promise<Page<PostView>> =>
      postPage(await backend.call(backend.posts, backend.posts.getFeed, { limit, cursor }, as(token))),

    userPosts: async (username: string, limit: number, cursor: string): Promise<Page<PostView>> =>
      postPage(
        await backend.call(backend.posts, backend.posts.listUserPosts, { username, limit, cursor }, anon),
      ),

    /** Resolves when the user exists; NOT_FOUND otherwise. */
    requireUser: async (username: string) => {
      await backend.call(backend.accounts, backend.accounts.getAccount, { username }, anon);
    },

    /** NOT_FOUND when the user does not exist. */
    profile: async (username: string): Promise<Profile> => {
      const [account, counts, posts] = await Promise.all([
        backend.call(backend.accounts, backend.accounts.getAccount, { username }, anon),
        backend.call(backend.graph, backend.graph.getCounts, { username }, anon),
        backend.call(backend.posts, backend.posts.countUserPosts, { username }, anon),
      ]);
      return {
        username: account.username,
        followers: counts.followers,
        following: counts.following,
        posts: posts.count,
      };
    },

    following: async (username: string, limit: number, cursor: string): Promise<Page<string>> =>
      userPage(
        await backend.call(backend.graph, backend.graph.listFollowing, { username, limit, cursor }, anon),
      ),

    followers: async (username: string, limit: number, cursor: string): Promise<Page<string>> =>
      userPage(
        await backend.call(backend.graph, backend.graph.listFollowers, { username, limit, cursor }, anon),
      ),

    searchUsers: async (prefix: string, limit: number) =>
      (await backend.call(backend.accounts, backend.accounts.searchAccounts, { prefix, limit }, anon))
        .usernames,
  };
}

export type Flock = ReturnType<typeof flock>;

function postPage(page: { posts: Post[]; nextCursor: string }): Page<PostView> {
  return { items: page.posts.map(presentPost), nextCursor: page.nextCursor || null };
}

function userPage(page: { usernames: string[]; nextCursor: string }): Page<string> {
  return { items: page.usernames, nextCursor: page.nextCursor || null };
}
