import type { FastifyInstance, FastifyReply } from "fastify";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { toHttpError } from "../http-errors.js";
import { renderPage } from "../render.js";
import { clearSessionCookie, setSessionCookie, tokenFromCookie } from "../session.js";
import { formFields } from "./form.js";

/** Sign-up, log-in and log-out pages. Failures re-render the form with the reason. */
export function authPages(app: FastifyInstance, ctx: WebContext): void {
  app.get("/signup", async (_request, reply) => renderPage(reply, "signup", { title: "Sign up" }));
  app.get("/login", async (_request, reply) => renderPage(reply, "login", { title: "Log in" }));

  app.post("/signup", { preHandler: app.csrfProtection }, async (request, reply) => {
    const { username, password } = formFields(request.body, ["username", "password"]);
    const api = backendApi(ctx, request);
    try {
      await api.createAccount(username, password);
      await startSession(reply, username, password);
      return reply.redirect("/?notice=welcome", 303);
    } catch (err) {
      return formFailed(reply, "signup", "Sign up", username, err);
    }
  });

  app.post("/login", { preHandler: app.csrfProtection }, async (request, reply) => {
    const { username, password } = formFields(request.body, ["username", "password"]);
    try {
      await startSession(reply, username, password);
      return reply.redirect("/", 303);
    } catch (err) {
      return formFailed(reply, "login", "Log in", username, err);
    }
  });

  app.post("/logout", { preHandler: app.csrfProtection }, async (request, reply) => {
    const token = tokenFromCookie(request);
    if (token !== "") await backendApi(ctx, request).logout(token);
    clearSessionCookie(ctx, reply);
    return reply.redirect("/?notice=loggedout", 303);
  });

  /** Logs in, replacing (and revoking) any session the browser had before. */
  async function startSession(reply: FastifyReply, username: string, password: string): Promise<void> {
    const api = backendApi(ctx, reply.request);
    const session = await api.login(username, password);
    const previous = tokenFromCookie(reply.request);
    if (previous !== "" && previous !== session.token) await api.logout(previous).catch(() => undefined);
    setSessionCookie(ctx, reply, session.token, session.expiresAtMs);
  }

  function formFailed(reply: FastifyReply, template: string, title: string, username: string, err: unknown) {
    const failure = toHttpError(err);
    if (failure.statusCode >= 500 && failure.statusCode !== 503) throw err;
    if (failure.detail !== undefined)
      reply.request.log.warn({ detail: failure.detail }, "backend unavailable");
    if (failure.retryAfterSeconds !== undefined)
      reply.header("retry-after", String(failure.retryAfterSeconds));
    reply.code(failure.statusCode);
    return renderPage(reply, template, { title, error: failure.message, username: username.slice(0, 32) });
  }
}
