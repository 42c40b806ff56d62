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
  PHONE,
  screenshot,
  type A11yReport,
  type ContextProblems,
} from "./browser.js";

const PASSWORD = "correct horse battery";
const LIMIT = 280;

type Context = BrowserContext & ContextProblems;

/**
 * Flock as people use it, in Debian's Chromium: two people on two web replicas sign up,
 * find and follow each other, post, read, paginate, unfollow, log out and in again. Every
 * page is checked with axe-core, and every context must finish without a CSP violation.
 */
describe("Flock in a real browser", { timeout: 120_000 }, () => {
  let flock: InProcessFlock | undefined;
  let browser: Browser | undefined;
  let api: ApiClient;
  let alice: Context; // served by web replica 0
  let bob: Context; // served by web replica 1
  let a: Page;
  let b: Page;
  const reports: A11yReport[] = [];
  const a11y = async (page: Page, label: string) => reports.push(await checkA11y(page, label));

  const bobFirst = "First post! Setting up my profile, then finding my people.";
  const bobHello = "Hello Flock! Glad to see you here, @alice.";
  const aliceHello = "Morning, @bob! Coffee first, then code review.";
  const others = [
    ["carol", "Finished the 10k this morning. Legs are jelly, spirits are high."],
    ["dave", "Hot take: tabs versus spaces was never the real fight. Naming things was."],
    ["carol", "Does anyone have a good sourdough starter recipe? Asking for a friend (the friend is me)."],
  ] as const;

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
    alice = await newContext(browser!, { baseURL: flock!.webUrls[0] });
    bob = await newContext(browser!, { baseURL: flock!.webUrls[1] });
    [a, b] = await Promise.all([alice.newPage(), bob.newPage()]);
  });

  after(async () => {
    await browser?.close();
    await flock?.close();
    const minor = reports.flatMap((r) => r.violations.map((v) => `${r.page}: ${v.id} (${v.impact})`));
    if (minor.length > 0) console.log(`# axe, moderate or minor: ${minor.join("; ")}`);
  });

  it("signs two people up in separate browsers, on different web replicas", async () => {
    await b.goto("/signup");
    await a11y(b, "signup");
    await screenshot(b, "signup");
    await signUp(b, "bob");
    await b.getByRole("status").filter({ hasText: "Welcome to Flock" }).waitFor();
    await b.getByRole("link", { name: "Your profile, @bob" }).waitFor();

    await a.goto("/");
    await a11y(a, "landing");
    // Static files carry a content version in their URL and may be cached.
    const css = await a.locator('link[rel="stylesheet"]').getAttribute("href");
    assert.match(css ?? "", /^\/static\/app\.css\?v=[0-9a-f]{10}$/);
    assert.match((await a.request.get(css!)).headers()["cache-control"] ?? "", /max-age=[1-9]/);
    await screenshot(a, "landing");
    await signUp(a, "alice");
    await a.getByRole("heading", { name: "Your feed is empty" }).waitFor();
    await a.getByRole("button", { name: "Follow @bob" }).waitFor();
    await a11y(a, "home with an empty feed");
    await screenshot(a, "home-empty");
    assertNoProblems(alice, bob);
  });

  it("shows readable errors for bad input", async () => {
    const stranger = await newContext(browser!, { baseURL: flock!.webUrls[0] });
    const page = await stranger.newPage();
    await page.goto("/signup");
    // The browser's own checks come first: a too-short name never leaves the page.
    await page.locator("#signup-username").fill("ab");
    await page.locator("#signup-password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign up", exact: true }).click();
    assert.equal(await page.locator("#signup-username").evaluate((el) => el.matches(":invalid")), true);
    assert.equal(new URL(page.url()).pathname, "/signup");
    // The server's refusal is a sentence next to the form, which keeps what was typed.
    await page.locator("#signup-username").fill("Bob");
    await page.getByRole("button", { name: "Sign up", exact: true }).click();
    assert.match(await page.getByRole("alert").innerText(), /username "bob" is taken/);
    assert.equal(await page.locator("#signup-username").inputValue(), "Bob");
    await a11y(page, "signup with an error");

    await page.goto("/login");
    await a11y(page, "login");
    await page.locator("#login-username").fill("bob");
    await page.locator("#login-password").fill("not the password");
    await page.getByRole("button", { name: "Log in", exact: true }).click();
    assert.equal(await page.getByRole("alert").innerText(), "wrong username or password");

    await page.goto("/u/nobody_here");
    await page.getByRole("heading", { name: "Not found" }).waitFor();
    await a11y(page, "not found");
    await stranger.close();
    assertNoProblems(stranger);
  });

  it("finds people by name and follows each other", async () => {
    // Alice follows Bob from the suggestions on her empty feed, and stays on her feed.
    await markDocument(a);
    await a.getByRole("button", { name: "Follow @bob" }).click();
    await a.getByRole("status").filter({ hasText: "Followed." }).waitFor();
    await a.getByRole("heading", { name: "Nothing new here yet" }).waitFor();
    assert.equal(new URL(a.url()).pathname, "/");
    assert.ok(await sameDocument(a), "followed without a full page load");

    // Bob finds Alice with the search box in the header.
    await b.getByRole("searchbox", { name: "Search people and posts" }).fill("al");
    await b.keyboard.press("Enter");
    await b.waitForURL((url) => url.pathname === "/search");
    await a11y(b, "search results");
    await b.getByRole("link", { name: "@alice", exact: true }).click();
    await b.waitForURL((url) => url.pathname === "/u/alice");
    await b.getByText("Follows you").waitFor();
    await a11y(b, "someone else's profile");
    await b.getByRole("button", { name: "Follow", exact: true }).click();
    await b.getByRole("button", { name: "Unfollow", exact: true }).waitFor();
    assert.match(await b.locator(".counts").innerText(), /1 following\s*1 followers/);

    // Both lists of a person's connections.
    await b.getByRole("link", { name: "1 following" }).click();
    await b.waitForURL((url) => url.pathname === "/u/alice/following");
    await b.locator("#people-list").getByRole("link", { name: "@bob", exact: true }).waitFor();
    await a11y(b, "following list");
    await b.getByRole("link", { name: "1 followers" }).click();
    await b.waitForURL((url) => url.pathname === "/u/alice/followers");
    await b.locator("#people-list").getByRole("link", { name: "@bob", exact: true }).waitFor();
    await a11y(b, "followers list");
    assertNoProblems(alice, bob);
  });

  it("posts without a full page load and shows each other's posts in their feeds", async () => {
    const carol = await api.newUser("carol", PASSWORD);
    const dave = await api.newUser("dave", PASSWORD);
    const aliceToken = (await api.login("alice", PASSWORD)).body.token;
    const bobToken = (await api.login("bob", PASSWORD)).body.token;
    await api.follow(aliceToken, "carol");
    await api.follow(aliceToken, "dave");
    await api.post(bobToken, bobFirst);
    for (const [author, text] of others) await api.post(author === "carol" ? carol : dave, text);

    // Bob writes with the keyboard only: skip link, compose box, Ctrl+Enter.
    await b.goto("/");
    await markDocument(b);
    await b.keyboard.press("Tab");
    assert.equal(await b.locator(":focus").innerText(), "Skip to content");
    await b.keyboard.press("Enter");
    await b.keyboard.press("Tab");
    assert.equal(await b.locator(":focus").getAttribute("id"), "compose-text");
    await b.keyboard.type(bobHello);
    assert.equal(await b.locator("#compose-count").innerText(), `${LIMIT - bobHello.length} characters left`);
    await b.keyboard.press("Control+Enter");
    await b.getByRole("status").filter({ hasText: "Posted." }).waitFor();
    assert.ok(await sameDocument(b), "posted without a full page load");
    assert.equal(await b.locator("#compose-text").inputValue(), "");
    assert.equal(await b.locator(":focus").getAttribute("id"), "compose-text");
    await b.locator(".latest").getByText(bobHello).waitFor();

    // Alice counts in code points, like the server: 280 birds fit, one more does not.
    await a.goto("/");
    const compose = a.getByRole("textbox", { name: "Write a post" });
    await compose.fill("\u{1F426}".repeat(LIMIT));
    assert.equal(await a.locator("#compose-count").innerText(), "0 characters left");
    await compose.fill("\u{1F426}".repeat(LIMIT) + "!");
    assert.equal(await a.locator("#compose-count").innerText(), "1 character too many");
    await a.getByRole("button", { name: "Post", exact: true }).click();
    assert.equal(await a.getByRole("alert").innerText(), "text must be at most 280 characters");
    assert.equal(await compose.inputValue(), "\u{1F426}".repeat(LIMIT) + "!", "the draft is kept");

    await compose.fill(aliceHello);
    await a.getByRole("button", { name: "Post", exact: true }).click();
    await a.getByRole("status").filter({ hasText: "Posted." }).waitFor();
    const feed = a.locator("#feed-posts");
    const bobsPost = feed.locator("article").filter({ hasText: bobHello });
    assert.equal(
      await bobsPost.getByRole("link", { name: "@bob", exact: true }).getAttribute("href"),
      "/u/bob",
    );
    assert.match(await bobsPost.locator("time").innerText(), /^(now|\d+s)$/);
    assert.equal(await bobsPost.getByRole("link", { name: "@alice" }).getAttribute("href"), "/u/alice");
    await a11y(a, "home with a feed");
    await screenshot(a, "home");

    await b.goto("/");
    await b.locator("#feed-posts").getByText(aliceHello).waitFor();

    await a.goto("/u/bob");
    await a.getByRole("button", { name: "Unfollow", exact: true }).waitFor();
    await a11y(a, "profile");
    await screenshot(a, "profile");
    await a.goto("/u/alice");
    await a.getByText("This is you").waitFor();
    await a11y(a, "own profile");

    const state = await alice.storageState();
    const phone = await newContext(browser!, { baseURL: flock!.webUrls[0], storageState: state, ...PHONE });
    const small = await phone.newPage();
    await small.goto("/");
    await small.locator("#feed-posts").getByText(bobHello).waitFor();
    const overflow = await small.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
        .document.documentElement;
      return root.scrollWidth;
    });
    assert.ok(overflow <= PHONE.viewport.width, `no sideways scrolling at phone width (${overflow}px)`);
    await a11y(small, "home at phone width");
    await screenshot(small, "home-phone");
    await phone.close();

    const dark = await newContext(browser!, {
      baseURL: flock!.webUrls[1],
      storageState: state,
      colorScheme: "dark",
    });
    const night = await dark.newPage();
    await night.goto("/");
    await a11y(night, "home in dark mode");
    await screenshot(night, "home-dark");
    await dark.close();
    assertNoProblems(alice, bob, phone, dark);
  });

  it("paginates the feed: Load more appends in place with JavaScript, and is a link without", async () => {
    const news = await api.newUser("newsdesk", PASSWORD);
    const aliceToken = (await api.login("alice", PASSWORD)).body.token;
    await api.follow(aliceToken, "newsdesk");
    for (let i = 1; i <= 25; i++) await api.post(news, `Update ${i} from the newsdesk`);
    const total = 25 + 2 + others.length; // newsdesk, bob, carol and dave

    await a.goto("/");
    const items = a.locator("#feed-posts > li");
    assert.equal(await items.count(), 20);
    await markDocument(a);
    await a.getByRole("link", { name: "Load more" }).click();
    await items.nth(total - 1).waitFor();
    assert.equal(await a.getByRole("link", { name: "Load more" }).count(), 0, "no more pages");
    assert.ok(await sameDocument(a), "loaded more without a full page load");
    const texts = await a.locator("#feed-posts .text").allInnerTexts();
    assert.equal(new Set(texts).size, total, "no post twice");
    assert.equal(texts.at(-1), bobFirst, "the oldest post last");

    const noScript = await newContext(browser!, {
      baseURL: flock!.webUrls[1],
      storageState: await alice.storageState(),
      javaScriptEnabled: false,
    });
    const plain = await noScript.newPage();
    await plain.goto("/");
    assert.equal(await plain.locator("#feed-posts > li").count(), 20);
    await plain.getByRole("link", { name: "Load more" }).click();
    await plain.waitForURL((url) => url.searchParams.has("cursor"));
    assert.equal(await plain.locator("#feed-posts > li").count(), total - 20);
    await plain.getByText(bobFirst).waitFor();
    // Posting works as a plain form too.
    await plain.goto("/");
    await plain.getByRole("textbox", { name: "Write a post" }).fill("Posted with JavaScript turned off.");
    await plain.getByRole("button", { name: "Post", exact: true }).click();
    await plain.waitForURL((url) => url.searchParams.get("notice") === "posted");
    await plain.locator(".latest").getByText("Posted with JavaScript turned off.").waitFor();
    await noScript.close();
    assertNoProblems(alice, noScript);
  });

  it("unfollows, and the posts disappear from the feed", async () => {
    await a.goto("/u/bob");
    await a.getByRole("button", { name: "Unfollow", exact: true }).click();
    await a.getByRole("status").filter({ hasText: "Unfollowed." }).waitFor();
    await a.getByRole("button", { name: "Follow", exact: true }).waitFor();
    await a.goto("/");
    await a.locator("#feed-posts").getByText("Update 25 from the newsdesk").waitFor();
    await a.getByRole("link", { name: "Load more" }).click();
    await a.locator("#feed-posts").getByText(others[0][1]).waitFor();
    assert.equal(await a.locator("#feed-posts").getByText(bobHello).count(), 0);
    assert.equal(await a.locator("#feed-posts").getByText(bobFirst).count(), 0);

    await b.goto("/u/alice");
    await b.getByRole("button", { name: "Unfollow", exact: true }).click();
    await b.getByRole("button", { name: "Follow", exact: true }).waitFor();
    await b.goto("/");
    await b.getByRole("heading", { name: "Your feed is empty" }).waitFor();
    assert.equal(await b.getByText(aliceHello).count(), 0);
    assertNoProblems(alice, bob);
  });

  it("logs out and logs in again", async () => {
    await a.getByRole("button", { name: "Log out" }).click();
    await a.getByRole("status").filter({ hasText: "You are logged out." }).waitFor();
    await a.getByRole("link", { name: "Log in", exact: true }).waitFor();
    await a.goto("/");
    await a.locator("#login-username").fill("alice");
    await a.locator("#login-password").fill(PASSWORD);
    await a.getByRole("button", { name: "Log in", exact: true }).click();
    await a.getByRole("link", { name: "Your profile, @alice" }).waitFor();
    await a.locator("#feed-posts").getByText("Update 25 from the newsdesk").waitFor();
    assertNoProblems(alice, bob);
  });
});

async function signUp(page: Page, username: string): Promise<void> {
  await page.locator("#signup-username").fill(username);
  await page.locator("#signup-password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
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
