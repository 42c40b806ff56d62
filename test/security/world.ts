/**
 * The world the attack suites attack: an in-process Flock (two web replicas over two
 * backends on shared memory stores) behind the real front door (HAProxy, as `npm start` runs
 * it, rate limits off so thousands of requests from one address get through), with a victim
 * who has posts, a follow and a live session, a friend the victim follows, and an attacker with
 * an account of their own. Also a revoked and an expired token, made the way real ones are.
 */
import http from "node:http";
import { randomBytes } from "node:crypto";
import { SessionRecord } from "../../src/gen/flock/storage/v1/records.js";
import { hashToken, newSessionToken } from "../../src/services/accounts/tokens.js";
import { put } from "../../src/storage/kv.js";
import { Keys } from "../../src/storage/keys.js";
import { ApiClient } from "../fixtures/api-client.js";
import { startFrontDoor, type RunningFrontDoor } from "../fixtures/front-door.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";
import { RequestCounter } from "./hostile.js";

export interface Person {
  name: string;
  password: string;
  token: string;
}

export interface World {
  flock: InProcessFlock;
  /** The public front door in front of the web replicas. */
  door: RunningFrontDoor;
  api: ApiClient;
  victim: Person;
  friend: Person;
  attacker: Person;
  /** The victim's posts (ids), newest last; the friend's post. */
  victimPosts: string[];
  friendPost: string;
  /** The attacker's token after logout. */
  revokedToken: string;
  /** A token of the victim's whose session record has expired. */
  expiredToken: string;
  agent: http.Agent;
  counter: RequestCounter;
  /** Where the next request goes, round robin: web replica 1, replica 2, the front door. */
  web(): string;
  close(): Promise<void>;
}

export async function buildWorld(): Promise<World> {
  const flock = await startInProcessFlock({ backends: 2, webs: 2 });
  const door = await startFrontDoor(flock.webUrls.map((u) => new URL(u).host)).catch(async (err: unknown) => {
    await flock.close();
    throw err;
  });
  const api = new ApiClient(flock.webUrls[0]!);
  const person = async (name: string): Promise<Person> => {
    const password = randomBytes(24).toString("base64url");
    return { name, password, token: await api.newUser(name, password) };
  };
  const victim = await person("victim");
  const friend = await person("friend");
  const attacker = await person("attacker");
  await api.follow(victim.token, friend.name);
  const friendPost = (await api.post(friend.token, "a post by the friend")).body.id;
  const victimPosts: string[] = [];
  for (const text of ["first post", "second <b>post</b>", "third post 🐦 #birds"])
    victimPosts.push((await api.post(victim.token, text)).body.id);

  const revokedToken = (await api.login(attacker.name, attacker.password)).body.token;
  if ((await api.logout(revokedToken)).status !== 204) throw new Error("logout failed");

  const expiredToken = newSessionToken();
  const now = Date.now();
  // Stored as a login stores a session (the lease would have removed it by now; its own
  // expiry time still refuses it, which is what this token tests).
  await flock.store.txn({
    success: [
      put(
        new Keys("flock/").session(hashToken(expiredToken)),
        SessionRecord.encode({
          username: victim.name,
          createdAtMs: now - 7_200_000,
          expiresAtMs: now - 3_600_000,
        }).finish(),
      ),
      put(new Keys("flock/").tick("a")),
    ],
  });

  // One connection per request: a hostile request may (rightly) get its connection closed,
  // and a reused keep-alive socket would then fail the next, innocent request.
  const agent = new http.Agent({ keepAlive: false, maxSockets: 32 });
  const targets = [...flock.webUrls, door.url];
  let next = 0;
  return {
    flock,
    door,
    api,
    victim,
    friend,
    attacker,
    victimPosts,
    friendPost,
    revokedToken,
    expiredToken,
    agent,
    counter: new RequestCounter(),
    web: () => targets[next++ % targets.length]!,
    close: async () => {
      agent.destroy();
      await door.stop();
      await flock.close();
    },
  };
}
