import type { Outcome } from "./history.js";

/** One HTTP answer, or status 0 when none came (timeout, refused, reset). */
export interface Reply {
  status: number;
  body: unknown;
  error?: string;
}

export interface RequestOptions {
  token?: string;
  json?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export const REQUEST_TIMEOUT_MS = 8_000;

/** One JSON API call with a deadline; never throws. */
export async function send(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers["content-type"] = "application/json";
  try {
    const response = await fetch(baseUrl + path, {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let body: unknown = undefined;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = text.slice(0, 200);
    }
    return { status: response.status, body };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { status: 0, body: undefined, error: e.cause?.code ?? e.name ?? String(err) };
  }
}

/** 2xx acknowledged, 4xx a definite refusal, anything else (5xx, no answer) unknown. */
export function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return "ok";
  if (status >= 400 && status < 500) return "failed";
  return "unknown";
}
