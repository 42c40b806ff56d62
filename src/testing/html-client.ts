/**
 * A minimal browser for tests of the HTML pages: keeps cookies, reads the CSRF token
 * from the last page's forms and posts urlencoded forms, following nothing by itself.
 */
export class HtmlClient {
  private readonly cookies = new Map<string, string>();
  lastHtml = "";

  constructor(public baseUrl: string) {}

  async get(path: string): Promise<Response> {
    const response = await this.send("GET", path);
    this.lastHtml = await response.clone().text();
    return response;
  }

  /** Posts a form; `_csrf` is taken from the last page unless given. */
  async postForm(path: string, fields: Record<string, string>, withCsrf = true): Promise<Response> {
    const form = new URLSearchParams(fields);
    if (withCsrf && !("_csrf" in fields)) form.set("_csrf", this.csrfToken());
    const response = await this.send("POST", path, form.toString());
    this.lastHtml = await response.clone().text();
    return response;
  }

  csrfToken(): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(this.lastHtml);
    if (!match) throw new Error("no CSRF token on the last page");
    return match[1]!;
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** Moves this browser to another replica, cookies and all. */
  useBaseUrl(baseUrl: string): void {
    this.baseUrl = baseUrl;
  }

  private async send(method: string, path: string, body?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await fetch(this.baseUrl + path, { method, headers, body, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, ...rest] = pair!.split("=");
      const value = rest.join("=");
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === "";
      if (expired) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value);
    }
    return response;
  }
}
