"""The web inbox in a real browser: Debian's Chromium driven by Selenium, with imaplib beside it.

Usage: web_browser.py BASE_URL IMAP_PORT MAILBOX PASSWORD SCREENSHOT_DIR DURATION CALLER_NAME CALLER_NUMBER

BASE_URL is `mailvox serve`'s HTTPS listener (self-signed certificate), IMAP_PORT its STARTTLS
IMAP listener on 127.0.0.1. The mailbox's INBOX holds one unheard voicemail per window size
(two), each DURATION seconds long, from CALLER_NAME at CALLER_NUMBER; Saved and Trash are empty.

One Chromium runs the whole scenario at 360x740 (a phone) and then at 1280x800 (a desktop):
sign-in refused and accepted, the newest unheard voicemail listed and played to its end,
marked heard in the page (seen by IMAP) and unheard by IMAP (seen by the page, live), saved,
deleted, the Trash emptied, signed out. Page actions must not reload the page: a marker set
on `window` before each one must survive it. Prints "ok: ..." per step; on the first failure
prints "FAIL: ...", saves failure-WxH.png beside the screenshots and exits 1.
"""

import imaplib
import os
import re
import ssl
import sys
import time
import traceback
from urllib.parse import urlparse

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as error:
    print(f"FAIL: selenium is missing ({error}); run scripts/bootstrap test (python3-selenium)")
    sys.exit(1)

SIZES = [(360, 740), (1280, 800)]
WAIT = 15  # seconds for a page or an element to settle
LIVE_WAIT = 10  # seconds for an IMAP change to reach the open page


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


STARTED = time.monotonic()


def ok(what):
    print(f"ok: {what} [{time.monotonic() - STARTED:.1f} s]", flush=True)


base, imap_port, mailbox, password, shots, duration, caller, number, greeting_file = sys.argv[1:10]
imap_port, expected_duration = int(imap_port), float(duration)
base = base.rstrip("/")
os.makedirs(shots, exist_ok=True)


def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in [
        "--headless=new",
        "--no-sandbox",  # root in a container: Chromium's sandbox cannot start
        "--ignore-certificate-errors",  # `mailvox init`'s self-signed certificate
        "--autoplay-policy=no-user-gesture-required",  # play() from a script, without a click
        "--disable-dev-shm-usage",
        "--lang=en-US",
        "--use-fake-device-for-media-stream",  # a microphone that beeps, for recording a greeting
        "--use-fake-ui-for-media-stream",  # and its permission granted without a prompt
    ]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT * 2)
    return driver


def wait(driver, condition, what, seconds=WAIT):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.1).until(lambda d: condition(d))
    except TimeoutException:
        raise Failure(f"timed out after {seconds} s waiting for {what}") from None


def click(driver, selector, what):
    """Clicks what `selector` finds now: the page's script may replace it between find and click
    (a live update re-renders the list and the folder links), so a stale element is found again."""

    def attempt(d):
        try:
            d.find_element(By.CSS_SELECTOR, selector).click()
            return True
        except StaleElementReferenceException:
            return False

    wait(driver, attempt, f"{what} ({selector}) to be clickable")


def path_of(driver):
    return urlparse(driver.current_url).path


def check_layout(driver, size, page):
    width = size[0]
    client, scroll = driver.execute_script(
        "const e = document.documentElement; return [e.clientWidth, e.scrollWidth];")
    if width <= 360:
        check(client <= 360, f"{page}: the viewport is {client} px wide, not a phone's {width}")
    check(scroll <= client + 1, f"{page}: scrolls sideways at {width} px (scrollWidth {scroll} > clientWidth {client})")


def screenshot(driver, name, size):
    path = os.path.join(shots, f"{name}-{size[0]}x{size[1]}.png")
    check(driver.save_screenshot(path), f"screenshot {path}")
    return path


def set_marker(driver, action):
    """Marks the document before `action`: a value on `window` and its time origin, both gone
    after any reload or navigation."""
    origin = driver.execute_script(
        "window.__mailvoxMarker = arguments[0]; return performance.timeOrigin;", action)
    return action, origin


def settle(driver, marker, condition, what, seconds=WAIT):
    """Waits for `condition` in the same document as `marker`; a reload fails at once."""
    action, origin = marker

    def settled(d):
        if d.execute_script("return window.__mailvoxMarker ?? null;") != action:
            return "left"
        return "done" if condition(d) else False

    if wait(driver, settled, what, seconds) == "left":
        raise Failure(f"{action}: the page reloaded or navigated (now {driver.current_url}) instead of {what}")
    now, entries = driver.execute_script(
        "return [performance.timeOrigin, performance.getEntriesByType('navigation').length];")
    check(now == origin and entries == 1, f"{action}: a new document (time origin {origin} -> {now}, {entries})")


def row_state(driver, uid):
    """The row's data-heard, or None once the row is gone; read by script, never stale."""
    return driver.execute_script(
        "const row = document.getElementById('vm-' + arguments[0]); return row ? row.dataset.heard : null;", uid)


def rows(driver):
    return driver.execute_script(
        """return [...document.querySelectorAll('li.voicemail')].map(row => ({
            uid: row.dataset.uid, heard: row.dataset.heard, id: row.id,
            caller: row.querySelector('.caller')?.textContent.trim() ?? null,
            received: row.querySelector('time')?.getAttribute('datetime') ?? null}));""")


def current_folder(driver):
    return driver.execute_script("return document.querySelector('main#main')?.dataset.folder ?? null;")


def open_folder(driver, name, size):
    click(driver, f'nav.folders a[data-folder="{name}"]', f"the {name} link")
    wait(driver, lambda d: current_folder(d) == name and d.execute_script("return document.readyState") == "complete",
         f"the {name} folder to open")
    check(path_of(driver) == "/inbox", f"{name} is at {driver.current_url}")
    check_layout(driver, size, name)


def imap_session():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    imap = imaplib.IMAP4("127.0.0.1", imap_port)
    imap.starttls(ssl_context=context)
    typ, data = imap.login(mailbox, password)
    check(typ == "OK", f"IMAP LOGIN: {typ} {data!r}")
    typ, data = imap.select("INBOX")
    check(typ == "OK", f"IMAP SELECT INBOX: {typ} {data!r}")
    return imap


def imap_flags(imap, uid):
    typ, data = imap.uid("FETCH", uid, "(FLAGS)")
    check(typ == "OK" and data and data[0], f"IMAP UID FETCH {uid} FLAGS: {typ} {data!r}")
    return data[0].decode() if isinstance(data[0], bytes) else repr(data[0])


def sign_in(driver, size):
    driver.get(base + "/login")
    wait(driver, lambda d: d.find_elements(By.ID, "sign-in"), "the sign-in form")
    check_layout(driver, size, "sign-in page")
    for secret in ["not-the-password", password]:
        field = driver.find_element(By.ID, "mailbox")
        field.clear()
        field.send_keys(mailbox)
        driver.find_element(By.ID, "password").send_keys(secret)
        driver.find_element(By.ID, "sign-in").click()
        if secret != password:
            error = wait(driver, lambda d: [e for e in d.find_elements(By.ID, "sign-in-error") if e.is_displayed()],
                         "#sign-in-error after a wrong password", seconds=30)[0]
            check(path_of(driver) == "/login", f"a wrong password left the sign-in page for {driver.current_url}")
            ok(f"{size_name(size)}: a wrong password is refused: {error.text!r}")
    wait(driver, lambda d: path_of(d) == "/inbox" and current_folder(d) == "INBOX", "the INBOX after signing in", 30)
    shown = driver.execute_script("return document.querySelector('main#main').dataset.mailbox;")
    check(shown == mailbox, f"signed in to mailbox {shown!r}, not {mailbox}")
    check(not driver.find_elements(By.ID, "sign-in-error"), "an error shown after a correct sign-in")
    ok(f"{size_name(size)}: signed in, INBOX of {mailbox} at {driver.current_url}")


def size_name(size):
    return f"{size[0]}x{size[1]}"


def newest_unheard(driver, size, expected_rows):
    listed = rows(driver)
    check(len(listed) == expected_rows, f"{expected_rows} voicemails in INBOX, found {listed}")
    # Newest call first, by received time (a UID says when delivery ended, not when the call came).
    times = [row["received"] for row in listed]
    check(all(times), f"every row has a time[datetime]: {listed}")
    check(times == sorted(times, reverse=True), f"INBOX is not newest first: {listed}")
    unheard = [row for row in listed if row["heard"] == "false"]
    check(unheard, f"an unheard voicemail in INBOX: {listed}")
    uid = unheard[0]["uid"]
    row = driver.find_element(By.ID, f"vm-{uid}")
    check("unheard" in row.get_attribute("class").split(), f"vm-{uid} is styled unheard")
    shown_caller = row.find_element(By.CSS_SELECTOR, ".caller").text.strip()
    check(shown_caller == caller, f"caller {shown_caller!r}, expected {caller!r}")
    shown_number = row.find_element(By.CSS_SELECTOR, ".number").text
    digits, wanted = re.sub(r"\D", "", shown_number), re.sub(r"\D", "", number)
    check(digits.endswith(wanted[-8:]), f"number {shown_number!r} is not {number}")
    when = row.find_element(By.CSS_SELECTOR, "time")
    check(when.get_attribute("datetime") and when.text.strip(), f"time {when.get_attribute('outerHTML')}")
    length = row.find_element(By.CSS_SELECTOR, ".duration").text
    match = re.search(r"(\d+):(\d\d)", length)
    check(match, f"duration {length!r} is not m:ss")
    seconds = int(match.group(1)) * 60 + int(match.group(2))
    check(abs(seconds - expected_duration) <= 1, f"duration {length!r} for {expected_duration} s")
    audio = row.find_element(By.CSS_SELECTOR, "audio")
    check(audio.get_attribute("controls") is not None, "the audio element has controls")
    check(audio.get_attribute("preload") == "none", f"preload {audio.get_attribute('preload')!r}, expected none")
    check(f"/voicemails/{uid}/audio" in (audio.get_attribute("src") or ""), f"audio src {audio.get_attribute('src')}")
    download = row.find_element(By.CSS_SELECTOR, "a.download")
    href = download.get_attribute("href") or ""
    check(f"/voicemails/{uid}/audio" in href and "download=1" in href, f"download link {href}")
    for button in ["mark-heard", "save", "delete"]:
        check(row.find_elements(By.CSS_SELECTOR, f"button.{button}"), f"vm-{uid} has button.{button}")
    check(not row.find_elements(By.CSS_SELECTOR, "button.restore"), "no restore button outside Trash")
    check_layout(driver, size, "INBOX")
    ok(f"{size_name(size)}: INBOX lists {len(listed)}; newest unheard is UID {uid} from {shown_caller} "
       f"({shown_number.strip()}), {match.group(0)}")
    return uid


def play(driver, size, uid):
    driver.set_script_timeout(expected_duration + 30)
    result = driver.execute_async_script(
        """
        const [id, done] = [arguments[0], arguments[arguments.length - 1]];
        const audio = document.querySelector('#' + CSS.escape(id) + ' audio');
        if (!audio) return done({error: 'no audio element'});
        const started = performance.now();
        audio.addEventListener('ended', () => done({
            duration: audio.duration, position: audio.currentTime, seconds: (performance.now() - started) / 1000}));
        audio.addEventListener('error', () => done({error: 'media error ' + (audio.error && audio.error.code)}));
        audio.play().catch(error => done({error: String(error)}));
        """, f"vm-{uid}")
    check("error" not in result, f"playing vm-{uid}: {result.get('error')}")
    check(abs(result["duration"] - expected_duration) <= 0.1,
          f"audio.duration {result['duration']} s, expected {expected_duration} s ± 0.1")
    ok(f"{size_name(size)}: played to the end: duration {result['duration']:.3f} s, "
       f"took {result['seconds']:.2f} s")


def mark_heard_then_unheard_by_imap(driver, size, uid):
    marker = set_marker(driver, "mark heard")
    click(driver, f"#vm-{uid} button.mark-heard", "mark heard")
    settle(driver, marker, lambda d: row_state(d, uid) == "true", f"vm-{uid} to show data-heard=true")
    check(driver.find_elements(By.CSS_SELECTOR, f"#vm-{uid} button.mark-unheard"), "mark-unheard offered once heard")
    imap = imap_session()
    try:
        flags = imap_flags(imap, uid)
        check("\\Seen" in flags, f"IMAP sees no \\Seen after mark heard: {flags}")
        ok(f"{size_name(size)}: mark heard without reload; IMAP FLAGS {flags}")

        marker = set_marker(driver, "IMAP -FLAGS \\Seen")
        typ, data = imap.uid("STORE", uid, "-FLAGS", "(\\Seen)")
        check(typ == "OK", f"IMAP UID STORE -FLAGS: {typ} {data!r}")
        check("\\Seen" not in imap_flags(imap, uid), "IMAP still sees \\Seen after -FLAGS")
    finally:
        imap.logout()
    settle(driver, marker, lambda d: row_state(d, uid) == "false", f"vm-{uid} to show data-heard=false live",
           LIVE_WAIT)
    check(driver.find_elements(By.CSS_SELECTOR, f"#vm-{uid} button.mark-heard"), "mark-heard offered again")
    ok(f"{size_name(size)}: IMAP -FLAGS \\Seen reached the open page without reload")


def save_delete_empty(driver, size, uid):
    marker = set_marker(driver, "save")
    click(driver, f"#vm-{uid} button.save", "save")
    settle(driver, marker, lambda d: row_state(d, uid) is None, f"vm-{uid} to leave INBOX")
    check(current_folder(driver) == "INBOX", "still in INBOX after save")
    ok(f"{size_name(size)}: saved; gone from INBOX without reload")

    open_folder(driver, "Saved", size)
    saved = rows(driver)
    check(len(saved) == 1 and saved[0]["caller"] == caller, f"the saved voicemail in Saved: {saved}")
    check(saved[0]["heard"] == "false", f"saving kept it unheard: {saved}")
    saved_uid = saved[0]["uid"]
    check(not driver.find_elements(By.CSS_SELECTOR, f"#vm-{saved_uid} button.save"), "no save button in Saved")
    screenshot(driver, "saved", size)
    ok(f"{size_name(size)}: in Saved as UID {saved_uid}")

    marker = set_marker(driver, "delete")
    click(driver, f"#vm-{saved_uid} button.delete", "delete")
    settle(driver, marker, lambda d: row_state(d, saved_uid) is None, f"vm-{saved_uid} to leave Saved")
    check(not rows(driver), f"Saved is empty: {rows(driver)}")
    ok(f"{size_name(size)}: deleted from Saved without reload")

    open_folder(driver, "Trash", size)
    trash = rows(driver)
    check(len(trash) == 1 and trash[0]["caller"] == caller, f"the deleted voicemail in Trash: {trash}")
    trash_uid = trash[0]["uid"]
    for button in ["restore", "delete"]:
        check(driver.find_elements(By.CSS_SELECTOR, f"#vm-{trash_uid} button.{button}"), f"button.{button} in Trash")
    empty = driver.find_elements(By.ID, "empty-trash")
    check(empty and empty[0].is_displayed(), "#empty-trash shown in a Trash with a voicemail")
    screenshot(driver, "trash", size)
    ok(f"{size_name(size)}: in Trash as UID {trash_uid}")

    marker = set_marker(driver, "empty Trash")
    click(driver, "#empty-trash", "empty Trash")
    settle(driver, marker, lambda d: not rows(d), "the Trash to empty")
    check(not driver.find_elements(By.ID, "empty-trash"), "#empty-trash still shown in an empty Trash")
    check(driver.find_elements(By.CSS_SELECTOR, "main#main .empty"), "an empty Trash says so")
    check_layout(driver, size, "empty Trash")
    screenshot(driver, "emptied", size)
    ok(f"{size_name(size)}: Trash emptied without reload")


def upload_greeting(driver, size, kind):
    """A greeting chosen as a file and saved with the page's form; it lists with a player."""
    click(driver, "#nav-greetings", "the Greetings link")
    wait(driver, lambda d: path_of(d) == "/greetings" and d.find_elements(By.ID, "greeting-upload"), "the greetings page")
    check_layout(driver, size, "greetings")
    Select(driver.find_element(By.ID, "greeting-type")).select_by_value(kind)
    driver.find_element(By.ID, "greeting-file").send_keys(greeting_file)
    click(driver, "#upload-greeting", "save greeting")
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, f"li#greeting-{kind}[data-uid] audio"),
        f"the {kind} greeting to list with a player",
    )
    audio = driver.find_element(By.CSS_SELECTOR, f"li#greeting-{kind} audio")
    length = driver.execute_async_script(
        """const [audio, done] = arguments;
        audio.addEventListener('loadedmetadata', () => done(audio.duration), {once: true});
        audio.addEventListener('error', () => done(-1), {once: true});
        audio.load();""",
        audio,
    )
    check(length and length > 0.5, f"the greeting's audio has no length ({length})")
    check(
        driver.find_elements(By.CSS_SELECTOR, f"li#greeting-{kind} a.download-wav-ulaw"),
        "a download for the PBX (WAV µ-law)",
    )
    screenshot(driver, "greetings", size)
    ok(f"{size_name(size)}: {kind} greeting uploaded, {length:.2f} s")


def record_greeting(driver, size):
    """The "name" greeting recorded in the page from the (fake) microphone and saved."""
    check(driver.find_element(By.ID, "record-start").is_displayed(), "the recorder is offered")
    click(driver, "#record-start", "record")
    wait(driver, lambda d: d.find_element(By.ID, "record-stop").is_enabled(), "the recording to start")
    time.sleep(2.5)
    click(driver, "#record-stop", "stop recording")
    wait(
        driver,
        lambda d: d.execute_script("return document.getElementById('greeting-file').files.length") == 1,
        "the recording to fill the file field",
    )
    Select(driver.find_element(By.ID, "greeting-type")).select_by_value("name")
    click(driver, "#upload-greeting", "save the recorded greeting")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "li#greeting-name[data-uid] audio"), "the name greeting")
    ok(f"{size_name(size)}: name greeting recorded in the browser and saved")


def sign_out(driver, size):
    click(driver, "#sign-out", "sign out")
    wait(driver, lambda d: path_of(d) == "/login" and d.find_elements(By.ID, "sign-in"), "the sign-in page")
    driver.get(base + "/inbox")
    wait(driver, lambda d: path_of(d) == "/login", f"/inbox to redirect to /login (at {driver.current_url})")
    check(driver.find_elements(By.ID, "sign-in"), "the sign-in form after the redirect")
    ok(f"{size_name(size)}: signed out; /inbox redirects to {driver.current_url}")


def script_errors(driver):
    """Uncaught exceptions in the page's script since the last read (reading drains the log)."""
    entries = driver.get_log("browser")
    return [e["message"] for e in entries if e["level"] == "SEVERE" and e.get("source") == "javascript"]


def main():
    try:
        driver = start_browser()
    except WebDriverException as error:
        print(f"FAIL: Chromium did not start: {error.msg}")
        return 1
    try:
        return scenario(driver)
    finally:
        driver.quit()


def scenario(driver):
    ok(f"Chromium {driver.capabilities.get('browserVersion')} started")
    size = SIZES[0]
    try:
        for index, size in enumerate(SIZES):
            driver.set_window_size(*size)
            sign_in(driver, size)
            uid = newest_unheard(driver, size, len(SIZES) - index)
            screenshot(driver, "inbox", size)
            play(driver, size, uid)
            mark_heard_then_unheard_by_imap(driver, size, uid)
            save_delete_empty(driver, size, uid)
            upload_greeting(driver, size, "unavailable" if index == 0 else "busy")
            if index == len(SIZES) - 1:
                record_greeting(driver, size)
            errors = script_errors(driver)
            check(not errors, f"script errors in the page: {errors}")
            sign_out(driver, size)
        ok(f"all steps at {len(SIZES)} window sizes")
        return 0
    except Failure as failure:
        print(f"FAIL: {size_name(size)}: {failure}")
    except Exception:
        print(f"FAIL: {size_name(size)}: unexpected error")
        traceback.print_exc(file=sys.stdout)
    try:
        print(f"  at {driver.current_url}; screenshot {screenshot(driver, 'failure', size)}")
        for entry in driver.get_log("browser"):
            print(f"  console {entry['level']}: {entry['message']}")
    except Exception as error:  # the browser itself may be what failed
        print(f"  (no screenshot: {error})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
