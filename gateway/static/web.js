// The workspace's live parts: events from /api/v1/events play a sound and mark the title,
// refresh the queue counts or the open ticket's conversation; canned replies are filled in
// for the ticket; mail HTML frames are sized to their content; a few keyboard shortcuts.
"use strict";

(function () {
  const body = document.body;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const baseTitle = document.title;
  let unseen = 0;
  let audio = null;

  // --- sound --------------------------------------------------------------------------
  const mute = document.getElementById("mute");
  if (mute) {
    mute.checked = localStorage.getItem("helpdesk.mute") === "1";
    mute.addEventListener("change", () => localStorage.setItem("helpdesk.mute", mute.checked ? "1" : "0"));
  }

  function sound() {
    if (mute && mute.checked) return;
    audio = audio || new AudioContext();
    if (audio.state !== "running") audio.resume();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
    body.dataset.sounds = String(Number(body.dataset.sounds || 0) + 1);
  }
  // browsers let a page make sound once the agent has touched it
  ["click", "keydown"].forEach((name) => document.addEventListener(name, () => {
    audio = audio || new AudioContext();
    if (audio.state !== "running") audio.resume();
  }, { once: true }));

  function markTitle() {
    if (document.hasFocus() && !document.hidden) return;
    unseen += 1;
    document.title = `(${unseen}) ${body.dataset.newMessage} — ${baseTitle}`;
  }
  window.addEventListener("focus", () => { unseen = 0; document.title = baseTitle; });

  // --- live events ----------------------------------------------------------------------
  async function replaceFrom(url, selector) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector(selector);
    const current = document.querySelector(selector);
    if (fresh && current) {
      current.replaceWith(document.adoptNode(fresh));
      sizeFrames();
    }
  }

  function refresh(event) {
    const ticket = body.dataset.ticket;
    if (ticket && (!event || String(event.ticket_id) === ticket)) {
      replaceFrom(`/tickets/${ticket}/conversation`, "#conversation");
    }
    if (document.getElementById("queues")) {
      replaceFrom(location.href, "#queues");
      replaceFrom(location.href, ".queue");
    }
  }

  if (body.dataset.live && window.EventSource) {
    const events = new EventSource("/api/v1/events");
    const arrived = (message) => {
      const event = JSON.parse(message.data);
      sound();
      markTitle();
      refresh(event);
    };
    events.addEventListener("message", arrived);
    events.addEventListener("ticket", arrived);
    events.addEventListener("assigned", (message) => refresh(JSON.parse(message.data)));
    events.addEventListener("resync", () => refresh(null));
    events.addEventListener("presence", (message) => document.dispatchEvent(
      new CustomEvent("helpdesk:presence", { detail: JSON.parse(message.data) })));
    events.addEventListener("open", () => {
      body.dataset.live = "connected";
      document.dispatchEvent(new CustomEvent("helpdesk:live"));
    });
  }

  // --- collision detection: who else has this ticket open, and who is writing a reply -----
  const banner = document.getElementById("presence");
  if (body.dataset.ticket && banner && body.dataset.live) {
    const HEARTBEAT_MS = 10000, FORGET_MS = 25000, TYPING_MS = 8000;
    const ticket = body.dataset.ticket;
    const others = new Map(); // agent id -> {name, state, until}
    let typedAt = 0;
    let told = "";
    const tell = (state, keepalive = false) => {
      told = state;
      fetch(`/api/v1/tickets/${ticket}/presence`, {
        method: "POST", credentials: "same-origin", keepalive,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ state }),
      }).catch(() => {});
    };
    const now = () => (Date.now() - typedAt < TYPING_MS ? "typing" : "viewing");
    const show = () => {
      for (const [id, other] of others) if (other.until < Date.now()) others.delete(id);
      const named = (typing) => [...others.values()]
        .filter((other) => (other.state === "typing") === typing).map((other) => other.name);
      const lines = [];
      if (named(true).length) lines.push(`${banner.dataset.typing} ${named(true).join(", ")}`);
      if (named(false).length) lines.push(`${banner.dataset.viewing} ${named(false).join(", ")}`);
      banner.textContent = lines.join(" · ");
      banner.hidden = lines.length === 0;
      banner.classList.toggle("typing", named(true).length > 0);
    };
    document.addEventListener("helpdesk:presence", ({ detail }) => {
      if (String(detail.ticket_id) !== ticket || String(detail.agent_id) === body.dataset.agent) return;
      const known = others.has(detail.agent_id);
      if (detail.state === "left") others.delete(detail.agent_id);
      else others.set(detail.agent_id, { name: detail.agent_name, state: detail.state, until: Date.now() + FORGET_MS });
      if (!known && detail.state !== "left") tell(now()); // a newcomer learns about me at once
      show();
    });
    document.addEventListener("input", (event) => {
      if (event.target.id !== "reply-body") return;
      typedAt = Date.now();
      if (told !== "typing") tell("typing");
    });
    tell("viewing");
    document.addEventListener("helpdesk:live", () => tell(now())); // (again) once I can hear answers
    setInterval(() => { tell(now()); show(); }, HEARTBEAT_MS);
    window.addEventListener("pagehide", () => tell("left", true));
  }

  // --- canned replies -------------------------------------------------------------------
  const canned = document.getElementById("canned");
  if (canned) {
    canned.addEventListener("change", async () => {
      if (!canned.value) return;
      const response = await fetch(`/api/v1/templates/${canned.value}/render`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ ticket_id: Number(canned.dataset.ticket) }),
      });
      if (!response.ok) return;
      const text = (await response.json()).body;
      const reply = document.getElementById("reply-body");
      reply.value = reply.value ? `${reply.value}\n\n${text}` : text;
      reply.focus();
      canned.value = "";
    });
  }

  // --- mail HTML, sized to its content (the frame runs no script of its own) -------------
  function sizeFrames() {
    document.querySelectorAll("iframe.mail-html").forEach((frame) => {
      const fit = () => {
        const inner = frame.contentDocument;
        if (inner && inner.documentElement) {
          frame.style.height = `${Math.min(inner.documentElement.scrollHeight + 8, 2000)}px`;
        }
      };
      frame.addEventListener("load", fit);
      fit();
    });
  }
  sizeFrames();

  // --- keyboard: r reply, n note, q queues, c phone call, / search, Ctrl+Enter sends ---------------------------------
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const focus = (selector) => { const field = document.querySelector(selector); if (field) { event.preventDefault(); field.focus(); } };
    if (event.key === "r") focus("#reply-body");
    if (event.key === "n") focus("#note-form textarea");
    if (event.key === "q") location.href = "/";
    if (event.key === "c") location.href = "/calls/new";
    if (event.key === "/") { event.preventDefault(); location.href = "/search"; }
  });
})();
