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
        // Not form.action: the buttons are named "action", which shadows the property.
        const response = await fetch(form.getAttribute("action"), {
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

// Greetings recorded in the browser: microphone samples as 16-bit PCM WAV, put into the
// form's file field, so the upload is the same form post as a chosen file.
function offerRecording() {
  const recorder = document.querySelector(".recorder");
  const input = document.getElementById("greeting-file");
  const AudioContextClass = window.AudioContext ?? window.webkitAudioContext;
  if (!recorder || !input || !navigator.mediaDevices?.getUserMedia || !AudioContextClass) return;
  recorder.hidden = false;
  const start = document.getElementById("record-start");
  const stop = document.getElementById("record-stop");
  const status = document.getElementById("record-status");
  let session = null;
  start.addEventListener("click", async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const context = new AudioContextClass();
    const source = context.createMediaStreamSource(stream);
    const processor = context.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    processor.onaudioprocess = (event) => chunks.push(new Float32Array(event.inputBuffer.getChannelData(0)));
    source.connect(processor);
    processor.connect(context.destination);
    session = { stream, context, processor, chunks };
    start.disabled = true;
    stop.disabled = false;
    status.textContent = start.dataset.recording ?? "…";
  });
  stop.addEventListener("click", async () => {
    if (!session) return;
    session.processor.disconnect();
    for (const track of session.stream.getTracks()) track.stop();
    const wav = encodeWAV(session.chunks, session.context.sampleRate);
    await session.context.close();
    session = null;
    const transfer = new DataTransfer();
    transfer.items.add(new File([wav], "greeting.wav", { type: "audio/wav" }));
    input.files = transfer.files;
    start.disabled = false;
    stop.disabled = true;
    status.textContent = stop.dataset.recorded ?? "✓";
  });
}

function encodeWAV(chunks, rate) {
  const frames = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const view = new DataView(new ArrayBuffer(44 + frames * 2));
  const text = (offset, value) => [...value].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + frames * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, frames * 2, true);
  let offset = 44;
  for (const chunk of chunks) {
    for (const sample of chunk) {
      view.setInt16(offset, Math.max(-1, Math.min(1, sample)) * 0x7fff, true);
      offset += 2;
    }
  }
  return view.buffer;
}

enhance();
listen();
offerNotifications();
offerRecording();
