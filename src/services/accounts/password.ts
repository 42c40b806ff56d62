import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Password hashing with scrypt, memory-hard. The encoded hash carries its own
 * parameters, so the cost can be raised later and old hashes still verify.
 * Default cost: N=2^15, r=8, p=1 — 32 MiB and about 60 ms per hash on one core.
 */
export interface ScryptParams {
  /** log2 of N. */
  logN: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { logN: 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string, params = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return [
    "scrypt",
    params.logN,
    params.r,
    params.p,
    salt.toString("base64url"),
    key.toString("base64url"),
  ].join("$");
}

/** Constant-time check of a password against an encoded hash; false for any malformed hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, key] = encoded.split("$");
  if (scheme !== "scrypt" || !logN || !r || !p || !salt || !key) return false;
  const params = { logN: Number(logN), r: Number(r), p: Number(p) };
  if (![params.logN, params.r, params.p].every((n) => Number.isInteger(n) && n > 0)) return false;
  if (params.logN > 20 || params.r > 32 || params.p > 16) return false;
  const expected = Buffer.from(key, "base64url");
  let actual: Buffer;
  try {
    actual = await derive(password, Buffer.from(salt, "base64url"), params);
  } catch {
    return false; // parameters scrypt refuses (e.g. p far above N): a malformed hash
  }
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
