// Progressive enhancement only: every page works without this file (plain forms and links).
// With it: a live character counter, posting and following without a full page load, like and
// repost buttons that toggle in place, "Load more" that appends in place, relative times that
// stay fresh, and on the home page live updates: a "new posts" button and the unread count.
// (A module: strict, deferred.)

const main = () => document.getElementById("main");
const announcer = () => document.getElementById("announcer");

/** Counts like the server: Unicode code points of the NFC-normalised, trimmed text. */
function codePoints(text) {
  return [...text.normalize("NFC").trim()].length;
}

function updateCounter(textarea) {
  const counter = document.getElementById(textarea.dataset.counter);
  if (!counter) return;
  const left = Number(textarea.dataset.limit) - codePoints(textarea.value);
  const text =
    left >= 0
      ? `${left} character${left === 1 ? "" : "s"} left`
      : `${-left} character${left === -1 ? "" : "s"} too many`;
  if (counter.textContent !== text) counter.textContent = text;
  counter.classList.toggle("warn", left >= 0 && left <= 20);
  counter.classList.toggle("over", left < 0);
  if (left < 0) textarea.setAttribute("aria-invalid", "true");
  else textarea.removeAttribute("aria-invalid");
}

/** Same rules as the server's first render ("now", "42s", "3m", "2h", "5d", then a date). */
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function ago(iso, now) {
  const at = Date.parse(iso);
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 5) return "now";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 7 * 86400) return `${Math.floor(seconds / 86400)}d`;
  const date = new Date(at);
  const day = `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}`;
  return date.getUTCFullYear() === new Date(now).getUTCFullYear() ? day : `${day}, ${date.getUTCFullYear()}`;
}

function refreshTimes(root) {
  const now = Date.now();
  for (const time of root.querySelectorAll("time[datetime]:not([data-absolute])")) {
    const text = ago(time.getAttribute("datetime"), now);
    if (time.textContent !== text) time.textContent = text;
  }
}

function enhance(root) {
  for (const field of root.querySelectorAll("textarea[data-limit], input[data-limit]")) updateCounter(field);
  refreshTimes(root);
}

function announce(text) {
  const region = announcer();
  if (!region) return;
  region.textContent = "";
  // A fresh text node so screen readers announce a repeated message too.
  window.requestAnimationFrame(() => (region.textContent = text));
}

function parse(html) {
  return new window.DOMParser().parseFromString(html, "text/html");
}

/** Puts the <main> of a fetched page in place of ours (same layout, so nothing else changes). */
function swapMain(doc, refocus) {
  const fresh = doc.getElementById("main");
  const current = main();
  if (!fresh || !current) return false;
  current.replaceChildren(...[...fresh.childNodes].map((n) => document.adoptNode(n)));
  if (doc.title) document.title = doc.title;
  enhance(current);
  const flash = current.querySelector(".flash");
  if (flash) announce(flash.textContent.trim());
  const target = (refocus && current.querySelector(refocus)) || current;
  target.focus({ preventScroll: target === current });
  return true;
}

function setBusy(form, busy) {
  form.toggleAttribute("aria-busy", busy);
  for (const button of form.querySelectorAll("button")) {
    button.disabled = busy;
    button.toggleAttribute("aria-busy", busy);
  }
}

// Forms marked data-enhance post the very same form with fetch, follow the server's
// redirect, and swap in the page it leads to. Another page, or any failure, means a
// normal navigation instead.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof window.HTMLFormElement) || !form.hasAttribute("data-enhance")) return;
  if (event.defaultPrevented || form.method.toLowerCase() !== "post") return;
  event.preventDefault();
  if (form.hasAttribute("aria-busy")) return;
  const body = new window.URLSearchParams(new window.FormData(form));
  setBusy(form, true);
  let response;
  try {
    response = await fetch(form.action, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { accept: "text/html" },
    });
  } catch {
    setBusy(form, false);
    announce("Could not reach Flock. Check your connection and try again.");
    return;
  }
  const landed = new URL(response.url);
  const html = (response.headers.get("content-type") ?? "").startsWith("text/html")
    ? await response.text()
    : "";
  if (response.redirected && landed.pathname !== window.location.pathname) {
    window.location.assign(response.url);
    return;
  }
  if (html === "" || !swapMain(parse(html), form.dataset.refocus)) {
    window.location.assign(response.redirected ? response.url : window.location.href);
    return;
  }
  // The redirect's ?notice= was shown once; keep the address clean for a reload.
  if (response.redirected) window.history.replaceState(null, "", landed.pathname);
});

// "Load more" links name the list they extend: fetch the next page and append its items.
document.addEventListener("click", async (event) => {
  const link = event.target instanceof window.Element ? event.target.closest("a[data-more]") : null;
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const list = document.getElementById(link.dataset.more);
  if (!list) return;
  event.preventDefault();
  if (link.getAttribute("aria-busy") === "true") return;
  link.setAttribute("aria-busy", "true");
  const label = link.textContent;
  link.textContent = "Loading…";
  try {
    const response = await fetch(link.href, { credentials: "same-origin", headers: { accept: "text/html" } });
    if (!response.ok) throw new Error(`status ${response.status}`);
    const doc = parse(await response.text());
    const items = [...(doc.getElementById(link.dataset.more)?.children ?? [])].map((n) =>
      document.adoptNode(n),
    );
    for (const item of items) item.classList.add("fresh");
    list.append(...items);
    enhance(list);
    const next = doc.querySelector(`a[data-more="${link.dataset.more}"]`);
    if (next) {
      link.href = next.getAttribute("href");
      link.textContent = label;
      link.removeAttribute("aria-busy");
    } else {
      link.remove();
    }
    announce(items.length === 0 ? "No more posts." : `Loaded ${items.length} more.`);
    // Keyboard users continue from the first new item.
    const first = items[0]?.querySelector("a[href]");
    if (first) first.focus({ preventScroll: true });
  } catch {
    window.location.assign(link.href);
  }
});

document.addEventListener("input", (event) => {
  const target = event.target;
  const field = target instanceof window.HTMLTextAreaElement || target instanceof window.HTMLInputElement;
  if (field && target.dataset.limit) updateCounter(target);
});

// Like and repost buttons: the same form, posted with fetch asking for JSON (the post as it is
// now); every button for that post on the page then shows the new state and count. Any failure
// submits the form the plain way instead, which shows what went wrong.
const REACTIONS = {
  like: { on: "liked", count: "likes", add: "like", remove: "unlike" },
  repost: { on: "reposted", count: "reposts", add: "repost", remove: "unrepost" },
};

function showReaction(post, kind) {
  const r = REACTIONS[kind];
  for (const form of document.querySelectorAll(`form[data-react="${kind}"][data-post-id="${post.id}"]`)) {
    form.action = `/posts/${post.id}/${post[r.on] ? r.remove : r.add}`;
    const button = form.querySelector("button");
    button?.setAttribute("aria-pressed", String(post[r.on]));
    const count = form.querySelector(".count");
    if (count) count.textContent = String(post[r.count]);
  }
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof window.HTMLFormElement) || !form.dataset.react || event.defaultPrevented) return;
  const kind = form.dataset.react;
  if (!REACTIONS[kind]) return;
  event.preventDefault();
  if (form.hasAttribute("aria-busy")) return;
  form.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new window.URLSearchParams(new window.FormData(form)),
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    if (!response.ok || !(response.headers.get("content-type") ?? "").startsWith("application/json")) {
      throw new Error(`status ${response.status}`);
    }
    const post = await response.json();
    showReaction(post, kind);
    const on = post[REACTIONS[kind].on];
    announce(kind === "like" ? (on ? "Liked." : "Like removed.") : on ? "Reposted." : "Repost removed.");
  } catch {
    form.submit();
  } finally {
    form.removeAttribute("aria-busy");
  }
});

// Ctrl/Cmd+Enter posts from the compose box.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  if (target instanceof window.HTMLTextAreaElement && target.form) {
    event.preventDefault();
    target.form.requestSubmit();
  }
});

// A notice (?notice=posted) belongs to the moment it was shown, not to the address.
{
  const url = new URL(window.location.href);
  if (url.searchParams.has("notice")) {
    url.searchParams.delete("notice");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
}

// Live updates (home page): the reader's event stream. New posts wait behind a button (the
// feed does not move under the reader's eyes); deleted posts leave the page; notifications
// raise the count in the header. EventSource reconnects by itself and resumes where it was.
{
  const live = document.getElementById("live");
  if (live && window.EventSource) {
    const waiting = new Set();
    let announced = 0;
    const setUnread = (n) => {
      const badge = document.getElementById("unread-count");
      const bell = document.getElementById("bell");
      if (!badge || !bell) return;
      badge.textContent = String(n);
      badge.hidden = n === 0;
      bell.setAttribute("aria-label", n === 0 ? "Notifications" : `Notifications, ${n} unread`);
    };
    const showWaiting = () => {
      const box = document.getElementById("live");
      const text = document.getElementById("live-text");
      if (!box || !text) return;
      const n = waiting.size;
      text.textContent = `Show ${n} new post${n === 1 ? "" : "s"}`;
      box.hidden = n === 0;
      // Announced once per few, not on every post, so a busy feed does not chatter.
      if (n > 0 && (announced === 0 || n >= announced + 5)) {
        announce(
          `${n} new post${n === 1 ? "" : "s"}. Press “Show new posts” at the top of your feed to see them.`,
        );
        announced = n;
      }
    };
    const stream = new window.EventSource(live.dataset.stream);
    // "open" once the server has subscribed this page (what the browser tests wait for).
    const state = () => {
      document.documentElement.dataset.live = ["connecting", "open", "closed"][stream.readyState] ?? "closed";
    };
    stream.addEventListener("open", state);
    stream.addEventListener("error", state);
    stream.addEventListener("post", (event) => {
      const post = JSON.parse(event.data);
      if (document.querySelector(`#feed-posts li[data-post-id="${post.id}"]`) && !post.repostedBy) return;
      waiting.add(`${post.id}-${post.repostedBy ?? ""}`);
      showWaiting();
    });
    stream.addEventListener("delete", (event) => {
      const { id } = JSON.parse(event.data);
      for (const key of [...waiting]) if (key.startsWith(`${id}-`)) waiting.delete(key);
      for (const item of document.querySelectorAll(`li[data-post-id="${id}"]`)) {
        if (item.contains(document.activeElement)) document.getElementById("feed-title")?.focus();
        item.remove();
      }
      showWaiting();
    });
    stream.addEventListener("notification", () => {
      const badge = document.getElementById("unread-count");
      setUnread(Number(badge?.textContent ?? "0") + 1);
    });
    window.addEventListener("pagehide", () => stream.close());

    // Showing them: the newest page of the feed, put in place of the one on screen.
    document.addEventListener("click", async (event) => {
      const button = event.target instanceof window.Element ? event.target.closest("#live-button") : null;
      if (!button) return;
      button.setAttribute("aria-busy", "true");
      try {
        const response = await fetch("/", { credentials: "same-origin", headers: { accept: "text/html" } });
        if (!response.ok) throw new Error(`status ${response.status}`);
        const fresh = parse(await response.text()).getElementById("feed");
        const current = document.getElementById("feed");
        if (!fresh || !current) throw new Error("no feed");
        const count = waiting.size;
        waiting.clear();
        announced = 0;
        current.replaceWith(document.adoptNode(fresh));
        const list = document.getElementById("feed-posts");
        const items = [...(list?.children ?? [])].slice(0, count);
        for (const item of items) item.classList.add("fresh");
        enhance(fresh);
        showWaiting();
        const first = items[0]?.querySelector("a[href]");
        (first ?? document.getElementById("feed-title"))?.focus();
        announce(`Showing ${count} new post${count === 1 ? "" : "s"}.`);
      } catch {
        window.location.assign("/");
      }
    });
  }
}

enhance(document);
window.setInterval(() => refreshTimes(document), 30_000);
