// SWAT Desk: small enhancements. Every page works without them.
(function () {
  "use strict";

  // A form that came back with errors: start at the first field in error, so keyboard and
  // screen-reader users land on the problem (its message is tied to it by aria-describedby).
  const invalid = document.querySelector("main [aria-invalid='true']");
  if (invalid && !document.querySelector("[autofocus]")) {
    invalid.focus();
  }

  // "3時間前" beside each time, kept true while a page stays open all day. Counted from the
  // server's clock (the page carries it), rounded as the server rounds (Babel's rules).
  const root = document.documentElement;
  const loadedAt = performance.now();
  const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
                 ["hour", 3600], ["minute", 60]];
  function roundHalfEven(x) {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }
  function ago(seconds) {
    if (Math.abs(seconds) < 60) {
      return root.dataset.justNow;
    }
    const words = new Intl.RelativeTimeFormat(root.lang, { numeric: "always" });
    for (const [unit, size] of UNITS) {
      const value = Math.abs(seconds) / size;
      if (value >= 0.85 || unit === "minute") {
        const text = words.format(Math.sign(seconds) * Math.max(1, roundHalfEven(value)), unit);
        return root.lang === "ja" ? text.replace(/\s+/g, "") : text;
      }
    }
    return "";
  }
  function refreshTimes() {
    const now = Date.parse(root.dataset.now) + (performance.now() - loadedAt);
    document.querySelectorAll("time[datetime] + .ago").forEach((span) => {
      const at = Date.parse(span.previousElementSibling.getAttribute("datetime"));
      if (!Number.isNaN(at)) {
        span.textContent = root.dataset.ago.replace("{}", ago((at - now) / 1000));
      }
    });
  }
  if (!Number.isNaN(Date.parse(root.dataset.now || "")) && root.dataset.ago && window.Intl
      && Intl.RelativeTimeFormat) {
    window.setInterval(refreshTimes, 60000);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") {
        refreshTimes(); // back to the tab after a while
      }
    });
  }

  // The queue's side panel: on a wide screen a consultation opens beside the queue, and it can
  // be claimed, answered and resolved there; only its row in the queue is redrawn. On a narrow
  // screen, or with a modifier key, links and forms work as ordinary pages.
  const panel = document.getElementById("queue-panel");
  if (!panel) {
    return;
  }
  const body = panel.querySelector(".panel-body");
  const alertBox = panel.querySelector(".panel-alert");
  const announcer = panel.querySelector(".panel-announce");
  const wide = window.matchMedia("(min-width: 1100px)");
  const HEADERS = { "X-Swat-Panel": "1" };
  let opener = null;
  let current = null; // the request whose answer the panel waits for

  function isPanelPage(text) {
    return text.trimStart().startsWith('<div class="panel-doc"');
  }

  function messageOf(text) {
    // What a full page (expired form, no permission, the sign-in page) says, as plain text.
    const doc = new DOMParser().parseFromString(text, "text/html");
    const part = doc.querySelector("main .error-page p:not(.error-code)") || doc.querySelector("main .flash");
    return part ? part.textContent.trim() : "";
  }

  function showAlert(text) {
    alertBox.textContent = text || panel.dataset.failed;
    alertBox.hidden = false;
    alertBox.focus();
  }

  function enableForms() {
    panel.querySelectorAll("button[disabled]").forEach((b) => { b.disabled = false; });
    document.querySelectorAll("form[data-panel-form] button[disabled]").forEach((b) => { b.disabled = false; });
  }

  async function refreshRow(number) {
    const row = document.querySelector(`tr[data-number="${CSS.escape(number)}"]`);
    if (!row) {
      return;
    }
    const response = await fetch(`${panel.dataset.rowUrl}/${encodeURIComponent(number)}`,
                                 { credentials: "same-origin" });
    const text = response.ok && !response.redirected ? (await response.text()).trim() : "";
    if (!text.startsWith("<tr")) {
      return;
    }
    const holder = document.createElement("tbody");
    holder.innerHTML = text;
    const fresh = holder.querySelector("tr");
    document.querySelectorAll("tr.row-current").forEach((r) => r.classList.remove("row-current"));
    fresh.classList.add("row-current");
    row.replaceWith(fresh);
  }

  function show(text) {
    // The server renders the fragment with Jinja's escaping, exactly as it renders a page.
    body.innerHTML = text;
    alertBox.hidden = true;
    panel.hidden = false;
    document.body.classList.add("panel-open");
    const doc = body.querySelector(".panel-doc");
    const heading = body.querySelector(".page-head h2, .page-head h1");
    const firstError = body.querySelector("[aria-invalid='true']");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
    }
    (firstError || heading || panel).focus();
    // Say what happened: the flash was inserted with the page, which screen readers skip.
    announcer.textContent = Array.from(body.querySelectorAll(".flash")).map((p) => p.textContent.trim()).join(" ");
    return doc && doc.dataset.number;
  }

  async function request(url, init, isPost) {
    if (current) {
      current.abort();
    }
    const mine = new AbortController();
    current = mine;
    panel.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, Object.assign(
        { credentials: "same-origin", headers: HEADERS, signal: mine.signal }, init));
      const text = await response.text();
      if (current !== mine) {
        return; // closed, or another consultation was opened meanwhile
      }
      if (isPanelPage(text)) {
        const number = show(text);
        if (number) {
          await refreshRow(number);
        }
      } else if (!isPost && panel.hidden) {
        window.location.assign(url); // nothing typed to lose: show it as a page
      } else {
        // An error page or the sign-in page: keep what is in the panel (a half-written
        // reply stays), and say what went wrong above it.
        panel.hidden = false;
        document.body.classList.add("panel-open");
        enableForms();
        showAlert(messageOf(text));
      }
    } catch (err) {
      if (current === mine && err.name !== "AbortError") {
        panel.hidden = false;
        document.body.classList.add("panel-open");
        enableForms();
        showAlert(panel.dataset.offline);
      }
    } finally {
      if (current === mine) {
        current = null;
        panel.removeAttribute("aria-busy");
      }
    }
  }

  function remember(link) {
    const row = link && link.closest("tr[data-number]");
    if (row) {
      link.dataset.number = row.dataset.number;
    }
    return link;
  }

  function edited() {
    return Array.from(body.querySelectorAll("textarea, input[type=text], input[type=file]"))
      .some((el) => (el.type === "file" ? el.files.length > 0 : el.value.trim() !== ""));
  }

  function close() {
    if (edited() && !window.confirm(panel.dataset.discard)) {
      return;
    }
    if (current) {
      current.abort();
      current = null;
    }
    panel.hidden = true;
    panel.removeAttribute("aria-busy");
    body.innerHTML = "";
    alertBox.hidden = true;
    announcer.textContent = "";
    document.body.classList.remove("panel-open");
    enableForms();
    // The row may have been redrawn since: go back to the same consultation's link.
    if (opener && !document.contains(opener) && opener.dataset.number) {
      opener = document.querySelector(`tr[data-number="${CSS.escape(opener.dataset.number)}"] a[data-panel-open]`);
    }
    if (opener && document.contains(opener)) {
      opener.focus();
    }
  }

  document.addEventListener("click", (ev) => {
    if (ev.target.closest("[data-panel-close]")) {
      close();
      return;
    }
    const link = ev.target.closest("a[data-panel-open]");
    if (!link || !wide.matches || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) {
      return;
    }
    if (!panel.hidden && edited() && !window.confirm(panel.dataset.discard)) {
      ev.preventDefault();
      return;
    }
    ev.preventDefault();
    opener = remember(link);
    request(link.href, { method: "GET" }, false);
  });

  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (!wide.matches || form.method.toLowerCase() !== "post") {
      return;
    }
    if (!(panel.contains(form) || form.matches("[data-panel-form]"))) {
      return;
    }
    ev.preventDefault();
    if (current) {
      return; // one action at a time
    }
    if (!panel.contains(form)) {
      opener = form.closest("tr") ? remember(form.closest("tr").querySelector("a[data-panel-open]")) : null;
    }
    const data = new FormData(form);
    if (ev.submitter && ev.submitter.name) {
      data.append(ev.submitter.name, ev.submitter.value);
    }
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    // A button with its own formaction (save as a draft) posts there.
    const target = ev.submitter && ev.submitter.hasAttribute("formaction") ? ev.submitter.formAction : form.action;
    request(target, { method: "POST", body: data }, true);
  });

  document.addEventListener("keydown", (ev) => {
    // Esc also ends a Japanese input method's conversion: leave that to the input method.
    if (ev.key !== "Escape" || ev.isComposing || ev.keyCode === 229 || panel.hidden) {
      return;
    }
    if (panel.contains(document.activeElement) || document.activeElement === document.body) {
      close();
    }
  });
})();
// Canned replies: "Insert" puts the chosen text (its placeholders already filled in for this
// consultation) into the reply box at the cursor, keeps what was typed, and remembers which
// one was used, counted when the reply is sent. Without script the same button reloads the
// page with the text in the box.
(function () {
  "use strict";
  document.addEventListener("submit", (ev) => {
    const pick = ev.target.closest("form.canned-pick");
    if (!pick) {
      return;
    }
    const card = pick.closest("section");
    const reply = card && card.querySelector("form textarea[name='body']");
    const option = pick.querySelector("select").selectedOptions[0];
    if (!reply || !option) {
      return;
    }
    ev.preventDefault();
    ev.stopImmediatePropagation();
    const text = option.dataset.text || "";
    const start = reply.selectionStart ?? reply.value.length;
    const end = reply.selectionEnd ?? reply.value.length;
    reply.value = reply.value.slice(0, start) + text + reply.value.slice(end);
    reply.dispatchEvent(new Event("input", { bubbles: true }));
    const used = reply.form.querySelector("input[name='canned_used']");
    if (used) {
      const ids = used.value ? used.value.split(",") : [];
      if (!ids.includes(option.value)) {
        ids.push(option.value);
      }
      used.value = ids.join(",");
    }
    reply.focus();
    reply.setSelectionRange(start + text.length, start + text.length);
  }, true);
})();
// The queue's action on ticked rows: only the choice that goes with the chosen action shows
// (without script every choice shows, and the server takes the one the action names).
(function () {
  "use strict";
  const action = document.getElementById("bulk-action");
  if (!action) {
    return;
  }
  function sync() {
    document.querySelectorAll("[data-bulk-for]").forEach((part) => {
      part.hidden = part.dataset.bulkFor !== action.value;
    });
  }
  action.addEventListener("change", sync);
  sync();
})();
// Keyboard shortcuts: j/k move through the queue's rows, Enter opens the one with the focus
// (its link), x ticks it, r and n go to the reply and the internal note, ? lists them. None
// fires while a text field, a list box or an editable area has the focus, with a modifier
// key, or while an input method is composing (Japanese conversion keeps every key).
(function () {
  "use strict";
  const help = document.getElementById("shortcuts");
  let current = -1;

  function typing(el) {
    return Boolean(el) && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function rows() {
    return Array.from(document.querySelectorAll("table.tickets tbody tr[data-number]"));
  }
  function move(step) {
    const list = rows();
    if (!list.length) {
      return false;
    }
    const focused = list.findIndex((r) => r.contains(document.activeElement));
    const from = focused >= 0 ? focused : current;
    current = Math.max(0, Math.min(list.length - 1, from < 0 ? 0 : from + step));
    list.forEach((r) => r.classList.remove("row-current"));
    const row = list[current];
    row.classList.add("row-current");
    const link = row.querySelector("a[data-panel-open], a");
    if (link) {
      link.focus();
    }
    return true;
  }
  function tick() {
    const row = rows()[current];
    const box = row && row.querySelector("input[type='checkbox'][name='t']");
    if (!box) {
      return false;
    }
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }
  function write(name) {
    // The panel's form when a consultation is open beside the queue, else the page's.
    const panel = document.getElementById("queue-panel");
    const scope = panel && !panel.hidden ? panel : document;
    const box = scope.querySelector(`textarea[name='${name}']`);
    if (!box) {
      return false;
    }
    box.focus();
    return true;
  }
  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.isComposing || ev.keyCode === 229 || ev.ctrlKey || ev.metaKey || ev.altKey) {
      return;
    }
    if (typing(document.activeElement) || (help && help.open && ev.key !== "?")) {
      return;
    }
    let done = false;
    if (ev.key === "j") {
      done = move(1);
    } else if (ev.key === "k") {
      done = move(-1);
    } else if (ev.key === "x") {
      done = tick();
    } else if (ev.key === "r") {
      done = write("body");
    } else if (ev.key === "n") {
      done = write("note-body");
    } else if (ev.key === "?" && help && typeof help.showModal === "function") {
      if (help.open) {
        help.close();
      } else {
        help.showModal();
      }
      done = true;
    }
    if (done) {
      ev.preventDefault();
    }
  });
})();
// Drafts: what is typed in a reply or a note is saved on the server a moment after one stops
// typing (so leaving the page, a crash or signing out loses nothing), and the full page asks
// before it is left with text not sent. Sending discards the draft on the server.
(function () {
  "use strict";
  const timers = new WeakMap();
  let sending = false;

  function save(form) {
    const box = form.querySelector("textarea");
    const status = form.querySelector(".draft-status");
    const data = new FormData();
    data.append("csrf_token", form.querySelector("input[name='csrf_token']").value);
    data.append("kind", form.dataset.draft);
    data.append("body", box.value);
    fetch(form.dataset.draftUrl, {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-Swat-Draft": "1" },
    }).then((r) => r.json()).then((answer) => {
      if (status) {
        status.textContent = answer.saved ? form.dataset.draftSaved : (answer.error || "");
      }
    }).catch(() => {});
  }
  document.addEventListener("input", (ev) => {
    const form = ev.target.closest && ev.target.closest("form[data-draft]");
    if (!form || ev.target.tagName !== "TEXTAREA") {
      return;
    }
    window.clearTimeout(timers.get(form));
    timers.set(form, window.setTimeout(() => save(form), 1500));
  });
  document.addEventListener("submit", () => { sending = true; }, true);
  window.addEventListener("beforeunload", (ev) => {
    if (sending) {
      return;
    }
    const unsent = Array.from(document.querySelectorAll("main form[data-draft] textarea"))
      .some((box) => box.value.trim() !== "" && box.value !== box.defaultValue);
    if (unsent) {
      ev.preventDefault();
      ev.returnValue = "";
    }
  });
})();
// A wide table that scrolls sideways in its own box (on a phone) takes the keyboard's focus,
// so it can be scrolled with the arrow keys, and is announced as a region named after its
// caption or heading. A box whose table fits takes no stop in the tab order.
(function () {
  "use strict";
  function nameOf(box) {
    const caption = box.querySelector("caption");
    const section = box.closest("section");
    const heading = section && section.querySelector("h2, h3");
    const text = (caption && caption.textContent) || (heading && heading.textContent) ||
      (document.querySelector("main h1") || {}).textContent || "";
    return text.trim().replace(/\s+/g, " ");
  }
  function mark(box) {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label")) {
        box.setAttribute("aria-label", nameOf(box));
      }
      box.dataset.scrollMarked = "1";
    } else if (!scrolls && box.dataset.scrollMarked) {
      ["tabindex", "role", "aria-label"].forEach((a) => box.removeAttribute(a));
      delete box.dataset.scrollMarked;
    }
  }
  function markAll() {
    document.querySelectorAll(".table-wrap").forEach(mark);
  }
  markAll();
  window.addEventListener("resize", markAll);
})();
