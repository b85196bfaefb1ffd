// SWAT Desk: small enhancements. Every page works without them.
(function () {
  "use strict";

  // A form that came back with errors: start at the first field in error, so keyboard and
  // screen-reader users land on the problem (its message is tied to it by aria-describedby).
  const invalid = document.querySelector("main [aria-invalid='true']");
  if (invalid && !document.querySelector("[autofocus]")) {
    invalid.focus();
  }

  // The queue's side panel: on a wide screen a consultation opens beside the queue, and it can
  // be claimed, answered and resolved there; only its row in the queue is redrawn. On a narrow
  // screen, or with a modifier key, links and forms work as ordinary pages.
  const panel = document.getElementById("queue-panel");
  if (!panel) {
    return;
  }
  const body = panel.querySelector(".panel-body");
  const wide = window.matchMedia("(min-width: 1100px)");
  const HEADERS = { "X-Swat-Panel": "1" };
  let opener = null;

  function isPanelPage(text) {
    return text.trimStart().startsWith('<div class="panel-doc"');
  }

  function errorPage(text) {
    // A full error page (expired form, no permission): show its message in the panel.
    const doc = new DOMParser().parseFromString(text, "text/html");
    const main = doc.querySelector("main .error-page") || doc.querySelector("main");
    const wrap = document.createElement("div");
    wrap.className = "panel-doc";
    if (main) {
      wrap.append(...Array.from(main.childNodes).map((n) => document.importNode(n, true)));
    }
    return wrap.outerHTML;
  }

  async function refreshRow(number) {
    const row = document.querySelector(`tr[data-number="${CSS.escape(number)}"]`);
    if (!row) {
      return;
    }
    const response = await fetch(`${panel.dataset.rowUrl}/${encodeURIComponent(number)}`,
                                 { credentials: "same-origin" });
    if (response.ok) {
      const holder = document.createElement("tbody");
      holder.innerHTML = (await response.text()).trim();
      const fresh = holder.querySelector("tr");
      if (fresh) {
        fresh.classList.add("row-current");
        document.querySelectorAll("tr.row-current").forEach((r) => r.classList.remove("row-current"));
        row.replaceWith(fresh);
      }
    }
  }

  async function show(response) {
    const text = await response.text();
    // The server renders the fragment with Jinja's escaping, exactly as it renders a page.
    body.innerHTML = isPanelPage(text) ? text : errorPage(text);
    panel.hidden = false;
    document.body.classList.add("panel-open");
    const doc = body.querySelector(".panel-doc");
    const number = doc && doc.dataset.number;
    const heading = body.querySelector(".page-head h2, .page-head h1, h1");
    const firstError = body.querySelector("[aria-invalid='true']");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
    }
    (firstError || heading || panel).focus();
    if (number) {
      await refreshRow(number);
    }
  }

  async function request(url, init) {
    panel.setAttribute("aria-busy", "true");
    try {
      await show(await fetch(url, Object.assign({ credentials: "same-origin", headers: HEADERS }, init)));
    } catch (err) {
      body.innerHTML = "";
      const p = document.createElement("p");
      p.className = "flash flash-error";
      p.setAttribute("role", "alert");
      p.textContent = panel.dataset.offline;
      body.append(p);
      panel.hidden = false;
    } finally {
      panel.removeAttribute("aria-busy");
    }
  }

  function remember(link) {
    const row = link && link.closest("tr[data-number]");
    if (row) {
      link.dataset.number = row.dataset.number;
    }
    return link;
  }

  function close() {
    panel.hidden = true;
    body.innerHTML = "";
    document.body.classList.remove("panel-open");
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
    ev.preventDefault();
    opener = remember(link);
    request(link.href, { method: "GET" });
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
    if (!panel.contains(form)) {
      opener = form.closest("tr") ? remember(form.closest("tr").querySelector("a[data-panel-open]")) : null;
    }
    const data = new FormData(form);
    if (ev.submitter && ev.submitter.name) {
      data.append(ev.submitter.name, ev.submitter.value);
    }
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    request(form.action, { method: "POST", body: data });
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !panel.hidden) {
      close();
    }
  });
})();
