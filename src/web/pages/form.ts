import { invalid } from "../../shared/errors.js";

/** Reads named text fields of a urlencoded form; a missing or repeated field is a 400. */
export function formFields<K extends string>(body: unknown, names: readonly K[]): Record<K, string> {
  const form = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const out = {} as Record<K, string>;
  for (const name of names) {
    const value = Object.hasOwn(form, name) ? form[name] : undefined;
    if (typeof value !== "string") throw invalid(`${name} is required`);
    out[name] = value;
  }
  return out;
}
