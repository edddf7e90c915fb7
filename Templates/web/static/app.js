// The web inbox's script (docs/WEB.md). Every page works without it; with it, actions need
// no reload, and changes from IMAP clients, phones and the PBX appear as they happen.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content;
const main = () => document.getElementById("main");

// Replaces the inbox's folders and list with a fresh rendering of `url`, keeping an audio
// element that is playing (its row's id is stable) so that playback is not cut off.
async function refresh(url = location.href) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (response.redirected && new URL(response.url).pathname === "/login") {
    location.assign(response.url);
    return;
  }
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const next = page.getElementById("main");
  const current = main();
  if (!next || !current || next.dataset.folder !== current.dataset.folder) {
    location.assign(response.url);
    return;
  }
  for (const audio of current.querySelectorAll("audio")) {
    if (audio.paused) continue;
    const row = audio.closest("li[id]");
    const replacement = row && next.querySelector(`#${CSS.escape(row.id)} audio`);
    if (replacement) replacement.replaceWith(audio);
  }
  const live = current.querySelector("#live")?.textContent ?? "";
  current.replaceWith(next);
  const liveNext = document.getElementById("live");
  if (liveNext) liveNext.textContent = live;
  const folders = page.querySelector("nav.folders");
  if (folders) document.querySelector("nav.folders")?.replaceWith(folders);
  if (response.url !== location.href) history.replaceState(null, "", response.url);
  enhance();
}

// Sends a form's action with fetch: the server answers with the page to show next.
function enhance() {
  for (const form of document.querySelectorAll("form.actions, form.empty-trash")) {
    if (form.dataset.enhanced) continue;
    form.dataset.enhanced = "1";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new URLSearchParams(new FormData(form, event.submitter));
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf ?? "" },
        });
        if (!response.ok) {
          location.assign(location.href);
          return;
        }
        await refresh(response.url);
      } catch {
        form.submit();
      }
    });
  }
}

// New voicemail and changes made elsewhere, from the server's event stream.
function listen() {
  if (!csrf || !main()?.dataset.folder) return;
  let pending = null;
  const source = new EventSource("/api/v1/events");
  source.addEventListener("change", (event) => {
    const change = JSON.parse(event.data);
    const current = main();
    if (change.kind === "added" && change.folder === "INBOX") announce(change);
    if (current && change.mailbox === current.dataset.mailbox) {
      clearTimeout(pending);
      pending = setTimeout(() => refresh(), 150);
    } else {
      clearTimeout(pending);
      pending = setTimeout(() => refresh(), 150);
    }
  });
  source.addEventListener("error", async () => {
    // Signed out elsewhere, or the session ran out: back to the sign-in page.
    const response = await fetch("/api/v1/session", { credentials: "same-origin" });
    if (response.status === 401) {
      source.close();
      location.assign("/login");
    }
  });
}

function announce(change) {
  const text = document.documentElement.lang.startsWith("de") ? "Neue Nachricht" : "New voicemail";
  const live = document.getElementById("live");
  if (live) live.textContent = text;
  if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
    new Notification(text, { tag: `vm-${change.mailbox}-${change.uids?.[0]}` });
  }
}

function offerNotifications() {
  const button = document.getElementById("enable-notifications");
  if (!button || !("Notification" in window) || Notification.permission !== "default") return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    button.hidden = true;
  });
}

enhance();
listen();
offerNotifications();
