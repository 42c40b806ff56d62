/** A tiny JSON API client for tests, bench and chaos: one method per call of the public API. */
export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string; json?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.json !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    const body = (text === "" ? undefined : JSON.parse(text)) as T;
    return { status: response.status, body, headers: response.headers };
  }

  signup(username: string, password: string) {
    return this.request("POST", "/api/v1/accounts", { json: { username, password } });
  }

  login(username: string, password: string) {
    return this.request<{ token: string }>("POST", "/api/v1/sessions", { json: { username, password } });
  }

  /** Signs up and logs in; throws unless both succeed. */
  async newUser(username: string, password = "correct horse battery"): Promise<string> {
    const created = await this.signup(username, password);
    if (created.status !== 201)
      throw new Error(`signup ${username}: ${created.status} ${JSON.stringify(created.body)}`);
    const session = await this.login(username, password);
    if (session.status !== 201)
      throw new Error(`login ${username}: ${session.status} ${JSON.stringify(session.body)}`);
    return session.body.token;
  }

  logout(token: string) {
    return this.request("DELETE", "/api/v1/sessions/current", { token });
  }

  follow(token: string, username: string) {
    return this.request("PUT", `/api/v1/following/${encodeURIComponent(username)}`, { token });
  }

  unfollow(token: string, username: string) {
    return this.request("DELETE", `/api/v1/following/${encodeURIComponent(username)}`, { token });
  }

  post(token: string, text: string, idempotencyKey?: string) {
    return this.request<PostBody>("POST", "/api/v1/posts", {
      token,
      json: { text },
      headers: idempotencyKey ? { "idempotency-key": idempotencyKey } : undefined,
    });
  }

  feed(token: string, query = "") {
    return this.request<PageBody>("GET", `/api/v1/feed${query}`, { token });
  }

  user(username: string) {
    return this.request<{ username: string; followers: number; following: number; posts: number }>(
      "GET",
      `/api/v1/users/${encodeURIComponent(username)}`,
    );
  }

  userPosts(username: string, query = "") {
    return this.request<PageBody>("GET", `/api/v1/users/${encodeURIComponent(username)}/posts${query}`);
  }
}

export interface PostBody {
  id: string;
  author: string;
  text: string;
  createdAt: string;
}

export interface PageBody {
  posts: PostBody[];
  nextCursor: string | null;
}
