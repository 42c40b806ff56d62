/**
 * THE key layout of Flock in etcd: every key any service writes is built here.
 *
 * All keys start with `<prefix>v1/` (prefix from ETCD_PREFIX, e.g. "flock/"); a layout
 * change gets a new version segment so old and new data never mix.
 *
 *   accounts  v1/acct/<username>                      AccountRecord
 *             v1/sess/<sha256(token), base64url>      SessionRecord, under a lease of the session TTL
 *             v1/loginfail/<encoded throttle key>     "<count> <attempt nonce>", under a lease of the window
 *   graph     v1/following/<follower>/<followee>      followed-at ms (decimal); written and
 *             v1/followers/<followee>/<follower>      deleted together with its mirror in one txn
 *   posts     v1/post/<postId>                        PostRecord
 *             v1/byauthor/<author>/<newestFirst(id)>  empty: the author's timeline
 *             v1/idem/<author>/<idempotencyKey>       postId the key first created
 *             v1/undelivered/<postId>                 author: written with the post, deleted once
 *                                                     it is in every follower's feed
 *             v1/feed/<reader>/<newestFirst(id)>      author: the reader's feed
 *             v1/feedby/<reader>/<author>/<postId>    empty: lets an unfollow find that author's entries
 *             v1/feedhorizon/<reader>                 newest postId trimmed from the reader's feed:
 *                                                     older pages are read from the authors instead
 *
 * Timelines are keyed by newestFirst(postId), an order-reversing encoding, so "the newest N"
 * is a plain ascending range with a limit. (etcd 3.4 ignores the limit of any range that asks
 * for a sort order: it reads the whole range, then sorts and cuts, which would make a feed
 * page cost grow with history.)
 *
 * "/" (0x2F) sorts below every username character [a-z0-9_] and every post id character
 * [0-9a-f], so `<segment>/<user>/` is a prefix of exactly that user's keys ("al/" never
 * matches "al_x/…"), and post ids (time first) sort in time order inside a prefix. Every
 * list is read as a bounded range (limit) inside one such prefix, never a scan of history.
 */

export const LAYOUT_VERSION = "v1";

/** Keys of one Flock deployment (one ETCD_PREFIX). */
export class KeyLayout {
  readonly root: string;

  constructor(prefix: string) {
    this.root = `${prefix}${LAYOUT_VERSION}/`;
  }

  // accounts
  account(username: string): string {
    return `${this.root}acct/${username}`;
  }
  /** Usernames starting with `start` are exactly the keys with this prefix. */
  accountsStartingWith(start: string): string {
    return `${this.root}acct/${start}`;
  }
  session(tokenHash: string): string {
    return `${this.root}sess/${tokenHash}`;
  }
  /** Throttle keys are free text (they hold client addresses), so they are escaped to stay one segment. */
  loginFailures(throttleKey: string): string {
    return `${this.root}loginfail/${encodeURIComponent(throttleKey)}`;
  }

  // graph
  following(follower: string, followee: string): string {
    return `${this.followingOf(follower)}${followee}`;
  }
  followingOf(follower: string): string {
    return `${this.root}following/${follower}/`;
  }
  follower(followee: string, follower: string): string {
    return `${this.followersOf(followee)}${follower}`;
  }
  followersOf(followee: string): string {
    return `${this.root}followers/${followee}/`;
  }

  // posts
  post(postId: string): string {
    return `${this.root}post/${postId}`;
  }
  authorPost(author: string, postId: string): string {
    return `${this.authorPostsOf(author)}${newestFirst(postId)}`;
  }
  authorPostsOf(author: string): string {
    return `${this.root}byauthor/${author}/`;
  }
  idempotency(author: string, idempotencyKey: string): string {
    return `${this.root}idem/${author}/${idempotencyKey}`;
  }
  undelivered(postId: string): string {
    return `${this.undeliveredPosts()}${postId}`;
  }
  undeliveredPosts(): string {
    return `${this.root}undelivered/`;
  }
  feedEntry(reader: string, postId: string): string {
    return `${this.feedOf(reader)}${newestFirst(postId)}`;
  }
  feedOf(reader: string): string {
    return `${this.root}feed/${reader}/`;
  }
  feedEntryByAuthor(reader: string, author: string, postId: string): string {
    return `${this.feedByAuthorOf(reader, author)}${postId}`;
  }
  feedHorizon(reader: string): string {
    return `${this.root}feedhorizon/${reader}`;
  }
  feedByAuthorOf(reader: string, author: string): string {
    return `${this.root}feedby/${reader}/${author}/`;
  }
}

/** The last segment of a key (a username or a post id in this layout). */
export function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

const DECIMAL = "0123456789";
const HEX = "0123456789abcdef";

/**
 * Reverses the order of post ids (13 decimal digits of time, then 12 hex digits) while
 * keeping their length: each digit d becomes (base-1-d). Newer ids map to smaller keys.
 * Its own inverse.
 */
export function newestFirst(postId: string): string {
  let out = "";
  for (let i = 0; i < postId.length; i++) {
    const digits = i < 13 ? DECIMAL : HEX;
    out += digits[digits.length - 1 - digits.indexOf(postId[i]!)];
  }
  return out;
}

/** The post id in a timeline key (the inverse of newestFirst on its last segment). */
export function postIdOfTimelineKey(key: string): string {
  return newestFirst(lastSegment(key));
}

/** The smallest key greater than every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return end;
    }
  }
  // All 0xff: etcd reads "\0" as "to the end of the keyspace".
  return Buffer.from([0]);
}

/** The smallest key strictly greater than `key`. */
export function keyAfter(key: string): Buffer {
  return Buffer.concat([Buffer.from(key), Buffer.from([0])]);
}
