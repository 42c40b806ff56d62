import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ApiClient } from "../fixtures/api-client.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";
import {
  assertNoProblems,
  checkA11y,
  launchChromium,
  newContext,
  screenshot,
  type A11yReport,
  type ContextProblems,
} from "./browser.js";

const PASSWORD = "correct horse battery";

type Context = BrowserContext & ContextProblems;

/**
 * Conversations in Chromium: Rosa and Tomás, on two web replicas, see each other's posts arrive
 * live, like and repost, reply in a thread, get notified, edit a profile and delete a post;
 * the same buttons work without JavaScript. Every page is checked with axe-core.
 */
describe("conversations in a real browser", { timeout: 180_000 }, () => {
  let flock: InProcessFlock | undefined;
  let browser: Browser | undefined;
  let api: ApiClient;
  let rosaContext: Context; // web replica 0
  let tomasContext: Context; // web replica 1
  let rosa: Page;
  let tomas: Page;
  const reports: A11yReport[] = [];
  const a11y = async (page: Page, label: string) => reports.push(await checkA11y(page, label));
  const tokens: Record<string, string> = {};

  const rosaPost = "The tram up the hill is running again. Anyone up for a walk at the castle? #lisbon";
  const tomasReply = "Count me in! Saturday morning, before the crowds?";

  before(async () => {
    const [started, launched] = await Promise.allSettled([
      startInProcessFlock({ backends: 1, webs: 2 }),
      launchChromium(),
    ]);
    if (started.status === "fulfilled") flock = started.value;
    if (launched.status === "fulfilled") browser = launched.value;
    if (started.status === "rejected") throw started.reason;
    if (launched.status === "rejected") throw launched.reason;
    api = new ApiClient(flock!.webUrls[0]!);
    for (const name of ["rosa", "tomas", "ines"]) tokens[name] = await api.newUser(name, PASSWORD);
    await api.follow(tokens.tomas!, "rosa");
    await api.follow(tokens.rosa!, "tomas");
    await api.follow(tokens.ines!, "rosa");
    await api.follow(tokens.tomas!, "ines");
    await api.request("PATCH", "/api/v1/me", {
      token: tokens.ines!,
      json: { displayName: "Inês Duarte", bio: "Photographs tiles." },
    });
    await api.post(tokens.ines!, "Found a wall of blue azulejos behind the market. #lisbon #tiles");
    rosaContext = await newContext(browser!, { baseURL: flock!.webUrls[0] });
    tomasContext = await newContext(browser!, { baseURL: flock!.webUrls[1] });
    [rosa, tomas] = await Promise.all([rosaContext.newPage(), tomasContext.newPage()]);
    await Promise.all([logIn(rosa, "rosa"), logIn(tomas, "tomas")]);
  });

  after(async () => {
    await browser?.close();
    await flock?.close();
    const minor = reports.flatMap((r) => r.violations.map((v) => `${r.page}: ${v.id} (${v.impact})`));
    if (minor.length > 0) console.log(`# axe, moderate or minor: ${minor.join("; ")}`);
  });

  it("shows a live 'new posts' button when someone followed posts, and the posts on a click", async () => {
    await tomas.goto("/");
    await tomas.locator("html[data-live='open']").waitFor();
    await markDocument(tomas);
    const button = tomas.getByRole("button", { name: /^Show \d+ new posts?$/ });
    assert.equal(await button.isVisible(), false);

    await rosa.goto("/");
    await rosa.getByRole("textbox", { name: "Write a post" }).fill(rosaPost);
    await rosa.getByRole("button", { name: "Post", exact: true }).click();
    await rosa.getByRole("status").filter({ hasText: "Posted." }).waitFor();

    await tomas.getByRole("button", { name: "Show 1 new post" }).waitFor();
    assert.equal(await tomas.locator("#feed-posts").getByText(rosaPost).count(), 0, "not shown until asked");
    await a11y(tomas, "home with new posts waiting");
    await screenshot(tomas, "home-live");
    await tomas.getByRole("button", { name: "Show 1 new post" }).click();
    await tomas.locator("#feed-posts").getByText(rosaPost).waitFor();
    assert.equal(await button.isVisible(), false);
    assert.ok(await sameDocument(tomas), "shown without a page load");
    const hashtag = tomas.locator("#feed-posts article").filter({ hasText: rosaPost }).getByRole("link", {
      name: "#lisbon",
    });
    assert.equal(await hashtag.getAttribute("href"), "/tags/lisbon");
    assertNoProblems(rosaContext, tomasContext);
  });

  it("likes and reposts in place, and the author is notified", async () => {
    const post = tomas.locator("#feed-posts article").filter({ hasText: rosaPost });
    await markDocument(tomas);
    await post.getByRole("button", { name: "Like, 0", pressed: false }).click();
    await post.getByRole("button", { name: "Like, 1", pressed: true }).waitFor();
    await post.getByRole("button", { name: "Repost, 0", pressed: false }).click();
    await post.getByRole("button", { name: "Repost, 1", pressed: true }).waitFor();
    assert.ok(await sameDocument(tomas), "no page load");
    await tomas.reload();
    await tomas
      .locator("#feed-posts article")
      .filter({ hasText: rosaPost })
      .getByRole("button", { name: "Like, 1", pressed: true })
      .waitFor();

    // Rosa's bell counts them (two follows from the start, a like and a repost).
    await rosa.goto("/");
    await rosa.getByRole("link", { name: "Notifications, 4 unread" }).waitFor();
    assertNoProblems(rosaContext, tomasContext);
  });

  it("replies in a thread, and the conversation reads top to bottom", async () => {
    await tomas.locator("#feed-posts article").filter({ hasText: rosaPost }).locator("a.permalink").click();
    await tomas.waitForURL((url) => url.pathname.startsWith("/posts/"));
    await markDocument(tomas);
    await tomas.getByRole("textbox", { name: "Reply to @rosa" }).fill(tomasReply);
    await tomas.getByRole("button", { name: "Reply", exact: true }).click();
    await tomas.getByRole("status").filter({ hasText: "Reply posted." }).waitFor();
    await tomas.locator("#replies").getByText(tomasReply).waitFor();
    assert.ok(await sameDocument(tomas), "replied without a page load");
    assert.equal(await tomas.getByRole("textbox", { name: "Reply to @rosa" }).inputValue(), "");

    // Rosa answers Tomás's reply from its own page: the thread shows both above it.
    await rosa.goto(new URL(tomas.url()).pathname);
    await rosa.locator("#replies article").filter({ hasText: tomasReply }).locator("a.permalink").click();
    await rosa.waitForURL((url) => url.pathname !== new URL(tomas.url()).pathname);
    await rosa
      .getByRole("textbox", { name: "Reply to @tomas" })
      .fill("Saturday it is. 9:00 at the tram stop. @ines?");
    await rosa.getByRole("button", { name: "Reply", exact: true }).click();
    await rosa.locator("#replies").getByText("Saturday it is.").waitFor();
    const thread = rosa.locator("main");
    const texts = await thread.locator(".post .text").allInnerTexts();
    assert.deepEqual(texts, [rosaPost, tomasReply, "Saturday it is. 9:00 at the tram stop. @ines?"]);
    assert.equal(await thread.getByRole("link", { name: "@ines" }).getAttribute("href"), "/u/ines");
    await api.reply(
      tokens.ines!,
      (await api.feed(tokens.tomas!)).body.posts.find((p) => p.text === rosaPost)!.id,
      "I'll bring the camera!",
    );
    await rosa.reload();
    await a11y(rosa, "a conversation");
    await screenshot(rosa, "thread", { fullPage: true });
    assertNoProblems(rosaContext, tomasContext);
  });

  it("lists notifications (likes, reposts, replies, mentions), and opening them marks them read", async () => {
    await rosa.goto("/");
    await rosa.getByRole("link", { name: "Notifications, 6 unread" }).click();
    await rosa.waitForURL((url) => url.pathname === "/notifications");
    const list = rosa.locator("#notifications-list");
    await list.getByText("reposted your post").waitFor();
    assert.equal(await list.getByText("replied to your post").count(), 2);
    assert.equal(await list.getByText("liked your post").count(), 1);
    assert.equal(await list.getByText("followed you").count(), 2);
    assert.equal(await list.locator(".unread").count(), 6);
    await rosa.getByRole("link", { name: "Notifications", exact: true }).waitFor();
    await a11y(rosa, "notifications");
    await screenshot(rosa, "notifications");
    await rosa.reload();
    assert.equal(await list.locator(".unread").count(), 0, "read now");

    const ines = await newContext(browser!, { baseURL: flock!.webUrls[1] });
    const page = await ines.newPage();
    await logIn(page, "ines");
    await page.getByRole("link", { name: "Notifications, 2 unread" }).click();
    await page.locator("#notifications-list").getByText("mentioned you").waitFor();
    await ines.close();
    assertNoProblems(ines, rosaContext);
  });

  it("edits the profile", async () => {
    await rosa.goto("/u/rosa");
    await rosa.getByRole("link", { name: "Edit profile" }).click();
    await rosa.waitForURL((url) => url.pathname === "/settings/profile");
    await a11y(rosa, "edit profile");
    await rosa.getByRole("textbox", { name: "Display name" }).fill("Rosa Almeida");
    await rosa.getByRole("textbox", { name: "Bio" }).fill("Walks, trams and long lunches. Lisbon.");
    assert.match(await rosa.locator("#bio-count").innerText(), /^\d+ characters left$/);
    await rosa.getByRole("button", { name: "Save" }).click();
    await rosa.waitForURL((url) => url.pathname === "/u/rosa");
    await rosa.getByRole("heading", { name: "Rosa Almeida @rosa" }).waitFor();
    await rosa.getByText("Walks, trams and long lunches. Lisbon.").waitFor();
    await rosa.getByRole("status").filter({ hasText: "Profile saved." }).waitFor();
    await a11y(rosa, "own profile with a display name");
    assertNoProblems(rosaContext);
  });

  it("deletes a post after asking", async () => {
    await rosa.goto("/");
    await rosa.getByRole("textbox", { name: "Write a post" }).fill("Typo city, ignore me");
    await rosa.getByRole("button", { name: "Post", exact: true }).click();
    const mine = rosa.locator(".latest article").filter({ hasText: "Typo city, ignore me" });
    await mine.waitFor();
    await rosa.goto("/u/rosa");
    const entry = rosa.locator("#profile-posts article").filter({ hasText: "Typo city, ignore me" });
    await entry.locator("summary").click();
    await entry.getByRole("button", { name: "Delete", exact: true }).click();
    await rosa.getByRole("status").filter({ hasText: "Post deleted." }).waitFor();
    assert.equal(await rosa.getByText("Typo city, ignore me").count(), 0);
    assert.equal((await api.user("rosa")).body.posts, 2, "the first post and the reply remain");
    assertNoProblems(rosaContext);
  });

  it("likes without JavaScript too, and mutes and blocks from a profile", async () => {
    const plain = await newContext(browser!, {
      baseURL: flock!.webUrls[0],
      storageState: await rosaContext.storageState(),
      javaScriptEnabled: false,
    });
    const page = await plain.newPage();
    await page.goto("/tags/tiles");
    const post = page.locator("article").filter({ hasText: "azulejos" });
    await post.getByRole("button", { name: "Like, 0", pressed: false }).click();
    await page.waitForURL((url) => url.pathname === "/tags/tiles");
    await page
      .locator("article")
      .filter({ hasText: "azulejos" })
      .getByRole("button", { name: "Like, 1", pressed: true })
      .waitFor();

    await page.goto("/u/ines");
    await page.getByRole("button", { name: "Mute @ines" }).click();
    await page.getByRole("status").filter({ hasText: "Muted." }).waitFor();
    await page.getByRole("button", { name: "Unmute @ines" }).click();
    await page.getByRole("button", { name: "Block @ines" }).click();
    await page.getByRole("button", { name: "Unblock @ines" }).waitFor();
    await page.getByText("their posts are hidden").waitFor();
    // axe runs in a page with scripts (it is one): the same pages, in Rosa's browser.
    await rosa.goto("/u/ines");
    await a11y(rosa, "a blocked profile");
    await page.getByRole("button", { name: "Unblock @ines" }).click();
    await page.getByRole("button", { name: "Follow", exact: true }).waitFor();
    await rosa.goto("/tags/tiles");
    await a11y(rosa, "a hashtag page");
    await rosa.goto("/search?q=lisbon");
    await rosa.locator("#search-posts").getByText("azulejos").waitFor();
    await a11y(rosa, "search results with posts");
    await plain.close();
    assertNoProblems(plain, rosaContext);
  });
});

async function logIn(page: Page, username: string): Promise<void> {
  await page.goto("/login");
  await page.locator("#login-username").fill(username);
  await page.locator("#login-password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/");
}

/** Marks the current document; `sameDocument` is false after any full page load. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (globalThis as Record<string, unknown>).__flockSameDocument = true;
  });
}

function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (globalThis as Record<string, unknown>).__flockSameDocument === true);
}
