// The /cluster page: fetches /cluster.json every 2 seconds and redraws the tables.
/* global AbortSignal */
// Every value goes in with textContent: nothing from the JSON is parsed as HTML.
const root = document.querySelector("[data-live]");

function cell(row, text, state) {
  const td = document.createElement("td");
  if (state) {
    const badge = document.createElement("span");
    badge.className = `state ${state}`;
    badge.textContent = text;
    td.append(badge);
  } else {
    td.textContent = text === undefined || text === null ? "" : String(text);
  }
  row.append(td);
  return td;
}

function fill(id, items, draw) {
  const body = document.getElementById(id);
  const rows = items.map((item) => {
    const row = document.createElement("tr");
    draw(row, item);
    return row;
  });
  body.replaceChildren(...rows);
}

function bytes(n) {
  if (n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function draw(s) {
  document.getElementById("cluster-rate").textContent = String(s.requests.perSecond);
  const updated = document.getElementById("cluster-updated");
  const time = document.createElement("time");
  time.dateTime = s.generatedAt;
  time.textContent = `${s.generatedAt.slice(11, 19)} UTC`;
  updated.replaceChildren("As of ", time);

  const summary = document.getElementById("etcd-summary");
  if (s.etcd.via === null) {
    const badge = document.createElement("span");
    badge.className = "state down";
    badge.textContent = "unknown";
    summary.replaceChildren(badge, ` no backend answered: ${s.etcd.error ?? ""}`);
  } else if (s.etcd.storage === "memory") {
    summary.replaceChildren("In-memory store (STORAGE=memory): no etcd.");
  } else {
    const leader = document.createElement("strong");
    leader.textContent = s.etcd.leader ?? "none (no quorum)";
    summary.replaceChildren("Leader: ", leader, ` · reported by backend ${s.etcd.via}`);
  }

  fill("etcd-members", s.etcd.members, (row, m) => {
    cell(row, m.name || "?");
    cell(row, m.endpoint);
    if (!m.reachable) {
      cell(row, "unreachable", "down").title = m.error;
      for (let i = 0; i < 4; i++) cell(row, "");
      return;
    }
    const state = cell(row, m.isLeader ? "leader" : "follower", m.isLeader ? "leader" : "up");
    if (m.alarms.length > 0) {
      const alarm = document.createElement("span");
      alarm.className = "state warn";
      alarm.textContent = m.alarms.join(", ");
      state.append(" ", alarm);
    }
    cell(row, m.raftTerm);
    cell(row, m.raftIndex);
    cell(row, bytes(m.dbSizeBytes));
    cell(row, m.version);
  });

  fill("backends", s.backends, (row, b) => {
    cell(row, b.address);
    const [text, state] =
      b.health === "SERVING"
        ? ["ready", "up"]
        : b.health === "NOT_SERVING"
          ? ["not serving", "warn"]
          : ["unreachable", "down"];
    cell(row, text, state).title = b.error ?? "";
    cell(row, b.storeOk === undefined ? "" : b.storeOk ? "answers" : "no quorum");
    cell(row, b.callsPerSecond);
    cell(row, (b.services ?? []).join(", "));
    cell(row, b.uptimeSeconds === undefined ? "" : `${b.uptimeSeconds} s`);
  });

  fill("webs", s.webs, (row, w) => {
    cell(row, w.self ? `${w.address} (this one)` : w.address);
    const [text, state] = !w.reachable
      ? ["unreachable", "down"]
      : w.ready
        ? ["ready", "up"]
        : [w.draining ? "draining" : "not ready", "warn"];
    cell(row, text, state).title = w.error ?? "";
    cell(row, w.requestsPerSecond);
    cell(row, w.requestsTotal);
  });
}

async function refresh() {
  const stale = document.getElementById("cluster-stale");
  try {
    const response = await fetch(root.dataset.live, { cache: "no-store", signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    draw(await response.json());
    stale.hidden = true;
  } catch {
    // This web replica may be the one that went away: say so, and keep trying.
    stale.hidden = false;
  }
  window.setTimeout(refresh, 2000);
}

if (root) window.setTimeout(refresh, 2000);
