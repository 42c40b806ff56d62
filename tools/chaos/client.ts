import { send, type Reply } from "./http.js";
import type { Recorder } from "./recorder.js";

/** Posts per feed read during the run: a read shows the newest FEED_PAGE of its reader's feed. */
export const FEED_PAGE = 20;

/**
 * The JSON API calls of the workload, each recorded in the history with its outcome.
 * `process` is the virtual user issuing them (-1 for the harness).
 */
export class RecordedClient {
  constructor(
    private readonly baseUrl: string,
    private readonly recorder: Recorder,
    private readonly process: number,
  ) {}

  signup(user: string, password: string): Promise<Reply> {
    return this.recorder.record({ process: this.process, type: "signup", user, password }, () =>
      send(this.baseUrl, "POST", "/api/v1/accounts", { json: { username: user, password } }),
    );
  }

  login(user: string, password: string): Promise<Reply> {
    return this.recorder.record(
      { process: this.process, type: "login", user, password },
      () => send(this.baseUrl, "POST", "/api/v1/sessions", { json: { username: user, password } }),
      (op, reply) => {
        op.token = (reply.body as { token?: string } | undefined)?.token;
      },
    );
  }

  logout(user: string, token: string): Promise<Reply> {
    return this.recorder.record({ process: this.process, type: "logout", user, token }, () =>
      send(this.baseUrl, "DELETE", "/api/v1/sessions/current", { token }),
    );
  }

  follow(user: string, token: string, target: string): Promise<Reply> {
    return this.recorder.record({ process: this.process, type: "follow", user, token, target }, () =>
      send(this.baseUrl, "PUT", `/api/v1/following/${encodeURIComponent(target)}`, { token }),
    );
  }

  unfollow(user: string, token: string, target: string): Promise<Reply> {
    return this.recorder.record({ process: this.process, type: "unfollow", user, token, target }, () =>
      send(this.baseUrl, "DELETE", `/api/v1/following/${encodeURIComponent(target)}`, { token }),
    );
  }

  post(user: string, token: string, text: string, key?: string): Promise<Reply> {
    return this.recorder.record(
      { process: this.process, type: "post", user, token, text, key },
      () =>
        send(this.baseUrl, "POST", "/api/v1/posts", {
          token,
          json: { text },
          headers: key ? { "idempotency-key": key } : undefined,
        }),
      (op, reply) => {
        op.postId = (reply.body as { id?: string } | undefined)?.id;
      },
    );
  }

  /** A reply to `parent` (by `parentAuthor`, as far as the caller knows). */
  reply(user: string, token: string, text: string, parent: string, parentAuthor: string): Promise<Reply> {
    return this.recorder.record(
      {
        process: this.process,
        type: "reply",
        user,
        token,
        text,
        inReplyTo: parent,
        inReplyToAuthor: parentAuthor,
      },
      () => send(this.baseUrl, "POST", "/api/v1/posts", { token, json: { text, inReplyTo: parent } }),
      (op, reply) => {
        op.postId = (reply.body as { id?: string } | undefined)?.id;
      },
    );
  }

  /** like / unlike / repost / unrepost / delete of post `postId`. */
  postAction(
    type: "like" | "unlike" | "repost" | "unrepost" | "delete",
    user: string,
    token: string,
    postId: string,
  ): Promise<Reply> {
    const path = `/api/v1/posts/${encodeURIComponent(postId)}`;
    const [method, url] =
      type === "delete"
        ? ["DELETE", path]
        : [type.startsWith("un") ? "DELETE" : "PUT", `${path}/${type.replace(/^un/, "")}`];
    return this.recorder.record({ process: this.process, type, user, token, postId }, () =>
      send(this.baseUrl, method, url, { token }),
    );
  }

  block(user: string, token: string, target: string, undo = false): Promise<Reply> {
    return this.recorder.record(
      { process: this.process, type: undo ? "unblock" : "block", user, token, target },
      () =>
        send(this.baseUrl, undo ? "DELETE" : "PUT", `/api/v1/blocks/${encodeURIComponent(target)}`, {
          token,
        }),
    );
  }

  feed(user: string, token: string): Promise<Reply> {
    return this.recorder.record(
      { process: this.process, type: "feed", user, token },
      () => send(this.baseUrl, "GET", `/api/v1/feed?limit=${FEED_PAGE}`, { token }),
      (op, reply) => {
        const posts =
          (reply.body as { posts?: { id: string; repostedBy?: string | null }[] } | undefined)?.posts ?? [];
        op.feedIds = posts.filter((p) => !p.repostedBy).map((p) => p.id);
        op.feedRepostIds = posts.filter((p) => p.repostedBy).map((p) => p.id);
        op.feedSize = posts.length;
      },
    );
  }
}
