import type { FastifyInstance } from "fastify";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { renderPage } from "../render.js";
import { viewerOf } from "./viewer.js";

const RESULTS = 30;

/** Finding people by the start of their username. */
export function searchPages(app: FastifyInstance, ctx: WebContext): void {
  app.get("/search", async (request, reply) => {
    const raw = (request.query as Record<string, unknown>).q;
    const query = typeof raw === "string" ? raw.trim().replace(/^@/, "").slice(0, 32) : "";
    const api = backendApi(ctx, request);
    const [viewer, users] = await Promise.all([
      viewerOf(request, api),
      query === "" ? Promise.resolve([]) : api.searchUsers(query.toLowerCase(), RESULTS),
    ]);
    return renderPage(reply, "users", {
      title: query === "" ? "Find people" : `“${query}” · Find people`,
      viewer,
      query,
      search: true,
      heading: query === "" ? "Find people" : `People whose name starts with “${query}”`,
      emptyText:
        query === ""
          ? "Type the start of a username to find people to follow."
          : `Nobody’s username starts with “${query}”. Try fewer letters.`,
      users,
      nextHref: "",
    });
  });
}
