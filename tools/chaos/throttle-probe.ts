import { request } from "node:http";
import type { Rng } from "./rng.js";

/** Failed logins after which an account is refused (the accounts service's default). */
export const MAX_FAILURES_PER_ACCOUNT = 10;

interface Answer {
  status: number;
}

/**
 * One JSON call from a chosen loopback source address: the front door tells the web tier the
 * client's address, so each probe is a client of its own and the run's real clients (all on
 * 127.0.0.1) never reach the per-address throttle because of it.
 */
function call(frontUrl: string, localAddress: string, path: string, body: object): Promise<Answer> {
  const url = new URL(path, frontUrl);
  const data = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        localAddress,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
        timeout: 8_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
        res.on("error", () => resolve({ status: 0 }));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve({ status: 0 }));
    req.end(data);
  });
}

export interface ThrottleVerdict {
  /** False only when the throttle certainly failed: every guess was refused as wrong, yet the account was not throttled. */
  ok: boolean;
  summary: string;
}

/**
 * Checks that failed logins are counted and enforced whichever backend (and clock) handles
 * them: a fresh account, MAX_FAILURES_PER_ACCOUNT wrong passwords, then the right one must be
 * refused with 429. Inconclusive (not a failure) when a step got no definite answer.
 */
export async function throttleHolds(frontUrl: string, username: string, rng: Rng): Promise<ThrottleVerdict> {
  const from = `127.0.${rng.int(1, 254)}.${rng.int(2, 254)}`;
  const password = `right-${rng.int(100000, 999999)}`;
  const signup = await call(frontUrl, from, "/api/v1/accounts", { username, password });
  if (signup.status !== 201) return { ok: true, summary: `inconclusive (signup ${signup.status})` };
  const guesses: number[] = [];
  for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) {
    guesses.push(
      (await call(frontUrl, from, "/api/v1/sessions", { username, password: `wrong-guess-${i}` })).status,
    );
  }
  const right = await call(frontUrl, from, "/api/v1/sessions", { username, password });
  const summary = `${guesses.length} wrong guesses (${[...new Set(guesses)].join("/")}), then the right password → ${right.status}`;
  if (guesses.some((s) => s !== 401 && s !== 429) || right.status === 0 || right.status >= 500) {
    return { ok: true, summary: `inconclusive: ${summary}` };
  }
  return { ok: right.status === 429, summary };
}
