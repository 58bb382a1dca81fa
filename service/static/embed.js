/*
 * Parley embed.js: comments, likes and ratings for any page.
 *
 *   <script src="https://comments.example.org/embed.js" async></script>
 *   <div data-parley="comments" data-site="default" data-page="/x"></div>
 *
 * Vanilla ES2017, no dependencies, no build step. docs/embedding.md has the
 * options, the CSP a host page needs and the data-attribute contract with
 * the server's fragments (templates/widget/).
 *
 * Script mode: each placeholder gets an open Shadow DOM root holding
 * widget.css and the server-rendered fragment (public, the same for every
 * reader). Personal state (visitor key, edit tokens, own pending comments)
 * lives in this page's localStorage and goes to the API as headers; no
 * cookies. Iframe mode: the placeholder gets the standalone page, which loads
 * this same file and enhances itself (see `framed`). Code not every page
 * needs comes in chunks loaded on first use (`need`): live updates are
 * embed-live.js, the report form embed-report.js.
 *
 * Nothing typed by people is ever inserted as HTML: dynamic UI is built with
 * createElement/textContent; only the service's own sanitised fragments and
 * comment HTML go through the HTML parser (inside a <template>).
 */
(() => {
  if (window.Parley) return;
  // The service's base URL: where this file came from (/embed.js, or a copy
  // under /assets/VERSION/ or /static/; the service may live under a path).
  // (document.currentScript: set while a classic script, async too, first runs.)
  const BASE = document.currentScript.src.replace(/(\/assets\/[^/]+|\/static)?\/embed(\.min)?\.js([?#].*)?$/, "");
  const ORIGIN = new URL(BASE).origin;
  // The server puts widget.css's absolute, versioned URL here.
  // (The source served as it is, from /static/, keeps the placeholder.)
  const CSS = "__PARLEY_CSS_URL__".replace(/^_.*/, BASE + "/static/widget.css");
  // Code not every page needs, loaded on first use (see `need`): the server
  // puts each chunk's versioned URL here (/embed/NAME.HASH.js).
  const CHUNKS = { live: "__PARLEY_CHUNK_live__", report: "__PARLEY_CHUNK_report__" };

  /* ----------------------------------------------------------- strings */

  // No catalogue here: the service translates the loader's messages too. A
  // fragment carries them on its root (data-t, JSON); counts and the iframe's
  // title ask for them (GET /widget/strings), once per site and language.
  // Dates: the server's <time datetime> shows an absolute date; here it becomes
  // "2 hours ago" in the widget's language (Intl), the absolute one in the
  // reader's time zone its title, so cached fragments never go stale.
  const asked = {};
  function strings(ctx) {
    const url = BASE + "/widget/strings?" + query({ site: ctx.site, lang: ctx.lang });
    return asked[url] || (asked[url] = fetch(url, { credentials: "omit" }).then((r) => r.json()));
  }
  // A fragment's root (or the standalone page's <main>) gives the messages, and
  // the language they are in.
  function speak(ctx, root) {
    ctx.T = JSON.parse(root.dataset.t);
    ctx.tl = ctx.T.lang;
    return ctx;
  }
  const fill = (text, value) => text.replace(/%\(\w+\)[sd]/, () => value);
  const UNITS = [["year", 31536e3], ["month", 2592e3], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

  function ago(ctx, root) {
    const rtf = new Intl.RelativeTimeFormat(ctx.tl, { numeric: "auto" });
    for (const t of root.querySelectorAll("time[datetime]")) {
      const d = new Date(t.dateTime);
      const s = Math.min(0, (d - Date.now()) / 1e3);
      const [unit, n] = UNITS.find((u) => -s >= u[1]) || UNITS[6];
      t.title = d.toLocaleString(ctx.tl);
      t.textContent = rtf.format(Math.round(s / n), unit);
    }
  }

  /* ----------------------------------------------------------- helpers */

  const enc = encodeURIComponent;

  // An element: keys with a dash are attributes (data-*, aria-*), others properties.
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const k in props) {
      if (k.includes("-")) el.setAttribute(k, props[k]);
      else el[k] = props[k];
    }
    el.append(...children);
    return el;
  }

  // ctx.page: one page id, or several (GET /api/v1/counts: page=A&page=B).
  const query = (ctx) => "site=" + enc(ctx.site) + [].concat(ctx.page || []).map((p) => "&page=" + enc(p)).join("") +
    (ctx.lang ? "&lang=" + enc(ctx.lang) : "");

  // A message shown in `box` (after its note line if it has one).
  function flash(box, text, error) {
    let p = box.querySelector(":scope>.parley-js-flash");
    if (!p) {
      p = h("p");
      const note = box.querySelector(":scope>.parley-note");
      if (note) note.after(p);
      else box.append(p);
    }
    p.className = "parley-flash parley-js-flash parley-" + (error ? "error" : "info");
    p.setAttribute("role", error ? "alert" : "status");
    p.textContent = text;
  }

  // What went wrong: the service's own message, else "no connection" (a network
  // error, or a fragment's failed response: neither has a message for people).
  const message = (ctx, error) => (error.status && error.message) || ctx.T.net;

  /* ----------------------------------------------------------- storage */

  // Per service origin (and path): {"-SITE": visitor key for a site, v: one from
  // before keys named their site (good on every site), c: {id: own comment}}.
  // An own comment: {t: edit token, x: its text, s: site, p: page, at: ms,
  // st: status, j: its JSON while the public thread may not show it yet}.
  const STORE = "parley:" + BASE;
  let memory = null; // used when storage throws (blocked, private mode, full)

  function load() {
    let state = memory;
    try {
      state = state || JSON.parse(localStorage.getItem(STORE));
    } catch (e) {
      state = memory = {};
    }
    state = state || {};
    state.c = state.c || {};
    return state;
  }

  // Load the state, let `change` edit it, store it; returns it.
  function update(change) {
    const state = load();
    change(state);
    try {
      localStorage.setItem(STORE, JSON.stringify(state));
    } catch (e) {
      memory = state;
    }
    return state;
  }

  /* --------------------------------------------------------------- API */

  async function call(method, path, ctx, body, headers) {
    const init = { method, credentials: "omit", headers: headers || {} };
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const url = BASE + "/api/v1/" + path + "?" + query(ctx);
    const response = await fetch(url, init);
    const data = await response.json().catch(() => null); // null for 204
    if (response.ok) {
      if (method !== "GET" && path !== "counts") {
        // Fragments are cached for a while: after a write, this reader fetches
        // them fresh for a minute (see `fragment`), so a reload shows their change.
        update((state) => (state.w = Date.now()));
      }
      return data;
    }
    const error = (data && data.error) || {};
    if (error.code === "bad_visitor") {
      // A key the service no longer accepts here: the next try gets a new one.
      update((state) => (state.v = state["-" + ctx.site] = ""));
    }
    // {code, message, fields} as the service said them, and the status.
    throw Object.assign({ message: response.statusText, status: response.status }, error);
  }

  // The visitor key for the site (a key counts only on the site it was issued for),
  // asked for only when first needed (a like, a vote, a comment).
  const keyOf = (ctx) => load()["-" + ctx.site] || load().v;

  async function visitor(ctx) {
    const key = keyOf(ctx) || (await call("POST", "visitors", ctx)).visitor;
    update((state) => (state["-" + ctx.site] = key));
    return key;
  }

  const asVisitor = async (ctx, method, path, body) =>
    call(method, path, ctx, body, { "X-Parley-Visitor": await visitor(ctx) });

  // GET the reader's own likes or vote, if they have a visitor key already.
  function getOwn(ctx, path, then) {
    if (keyOf(ctx)) asVisitor(ctx, "GET", path).then(then, () => {});
  }

  // A fragment ("comments", "rating") for a query ("?site=...&page=..."), parsed
  // inert (in a <template>: nothing runs, nothing loads), with its source text
  // (`.text`: what live updates compare); past the browser's cache (a
  // revalidation: 304 while nothing changed) when `fresh`, and for a minute
  // after this reader wrote something.
  async function fragment(kind, search, fresh) {
    const response = await fetch(BASE + "/widget/" + kind + search, {
      credentials: "omit",
      cache: fresh || Date.now() - load().w < 6e4 ? "no-cache" : "default",
    });
    if (!response.ok) throw response; // see `message`
    const template = h("template");
    const text = await response.text();
    template.innerHTML = text;
    return Object.assign(template.content, { text });
  }

  /* -------------------------------------------------------- the thread */

  const actionsOf = (article) => article.querySelector(":scope>.parley-actions");

  // `hash`: "#c12". The comment gets the focus too (comments are focusable by
  // script only: tabindex=-1), so a keyboard or screen reader user is taken there.
  function go(ctx, hash) {
    const el = ctx.root.querySelector(hash);
    if (!el) return;
    el.classList.add("parley-target");
    el.scrollIntoView();
    el.focus({ preventScroll: true });
  }

  // After an action removed or replaced what had the focus: the first element
  // found gets it, so that it never falls back to the page's <body>.
  function focus(ctx, ...selectors) {
    for (const s of selectors) {
      const el = ctx.root.querySelector(s);
      if (el) return el.focus();
    }
  }

  // An own comment the public thread does not show (yet): built from its JSON.
  function commentElement(ctx, c, pending) {
    const meta = h("header", { className: "parley-meta" });
    if (c.avatar) meta.append(h("img", { className: "parley-avatar", src: c.avatar, alt: "" }));
    meta.append(
      h("span", { className: "parley-author", textContent: c.author }),
      h("a", { className: "parley-permalink", href: "#c" + c.id },
        h("time", { dateTime: c.created, textContent: c.created.slice(0, 10) })),
    );
    if (pending) meta.append(h("span", { className: "parley-pending", textContent: ctx.T.pending }));
    const body = h("div", { className: "parley-body" });
    body.innerHTML = c.html; // the service's own sanitised HTML
    return h("article", {
      className: "parley-comment parley-local",
      tabIndex: -1,
      id: "c" + c.id,
      "data-id": c.id,
      "data-created": c.created,
    }, meta, body, h("div", { className: "parley-actions" }));
  }

  function placeLocal(ctx, thread, mine) {
    const c = mine.j;
    const el = commentElement(ctx, c, mine.st === "pending");
    const parent = c.parent && thread.querySelector("#c" + c.parent);
    if (parent) {
      let replies = parent.querySelector(":scope>.parley-replies");
      if (!replies) parent.append((replies = h("div", { className: "parley-replies" })));
      replies.append(el);
    } else {
      const empty = thread.querySelector(".parley-empty");
      if (empty) empty.remove();
      thread.insertBefore(el, thread.querySelector(":scope>[data-more]")); // null: at the end
    }
  }

  // Personal state over the public thread: own comments (pending ones marked),
  // Edit/Delete within the edit window, likes. Again after each "more" page:
  // it only adds what is missing. `quiet` (live updates): no request, the
  // likes are carried over (see embed-live.js).
  function decorate(ctx, quiet) {
    const thread = ctx.root.querySelector(".parley-thread");
    ago(ctx, thread);
    for (const el of thread.querySelectorAll(".parley-local")) el.remove(); // placed again below
    const span = thread.dataset.editWindow * 1000 || 9e5;
    const state = update((state) => {
      for (const id in state.c) {
        const mine = state.c[id];
        // Forget what the thread will never show: a day for published, 30 for pending.
        if (Date.now() - mine.at > (mine.st === "pending" ? 30 : 1) * 864e5) delete state.c[id];
        else if (mine.s !== ctx.site || mine.p !== ctx.page || !mine.j) continue;
        else if (thread.querySelector("#c" + id)) delete mine.j; // the public thread has it now
        else placeLocal(ctx, thread, mine);
      }
    });
    for (const article of thread.querySelectorAll(".parley-comment")) {
      const mine = state.c[article.dataset.id];
      const left = mine && !article.matches(".parley-deleted") &&
        Date.parse(article.dataset.created) + span - Date.now();
      const actions = actionsOf(article);
      if (left > 0 && !actions.querySelector("[data-action=edit]")) {
        const buttons = [
          h("button", { type: "button", className: "parley-link", "data-action": "edit", textContent: ctx.T.edit }),
          h("button", { type: "button", className: "parley-link", "data-action": "delete", textContent: ctx.T.del }),
        ];
        actions.append(...buttons);
        setTimeout(() => buttons.forEach((b) => b.remove()), left);
      }
    }
    if (quiet) return;
    for (const link of thread.querySelectorAll("[data-more]")) ahead(link).catch(() => {});
    getOwn(ctx, "likes", (d) => {
      for (const id of d.liked) {
        const like = thread.querySelector("#c" + id + ">.parley-actions>.parley-like");
        if (like) like.setAttribute("aria-pressed", "true");
      }
    });
  }

  // "More replies" / "Load more comments": the page a link stands for (only its
  // comments, and a new link if there are still more), asked for as soon as the
  // link is in the thread (see `decorate`), so that a click shows it at once.
  // The link's own query (site, page, cursor, parent: the standalone page's)
  // names that page.
  const ahead = (link) => link.next || (link.next = fragment("comments", link.search + "&part=1"));

  // A click: that page in place of the link (replies into the comment's
  // .parley-replies, a new link after it); a busy copy meanwhile. Which links
  // were opened, and how often, is kept (`ctx.open`): live updates open them again.
  async function more(ctx, comment, link, quiet) {
    const open = (ctx.open = ctx.open || {});
    const key = link.dataset.more + link.dataset.parent;
    if (!quiet) open[key] = (open[key] | 0) + 1;
    const busy = h("span", { className: link.className, textContent: link.textContent, "data-busy": "" });
    link.replaceWith(busy);
    try {
      const content = await ahead(link);
      if (comment) {
        let replies = comment.querySelector(":scope>.parley-replies");
        if (!replies) busy.before((replies = h("div", { className: "parley-replies" })));
        replies.append(content); // and after it, the new link if any
        const next = replies.querySelector(":scope>[data-more]");
        if (next) replies.after(next);
      }
      busy.replaceWith(content);
      decorate(ctx, quiet);
    } catch (e) {
      link.next = 0; // asked for again on the next click (the link's href is the standalone page)
      busy.replaceWith(link);
      flash(link.parentNode, ctx.T.net, true); // the comment, or the thread
    }
  }

  // The public thread again (fresh: this follows a write), then personal state
  // over it; when the service cannot be reached, own comments still show.
  async function refreshThread(ctx) {
    cancelReply(ctx);
    try {
      const content = await fragment("comments", "?" + query(ctx));
      ctx.root.querySelector(".parley-thread").replaceWith(content.querySelector(".parley-thread"));
      ctx.comments = content.text;
    } catch (e) {
      // keep the thread shown
    }
    decorate(ctx);
  }

  /* ---------------------------------------------------------- the form */

  // The signed time token the API wants with a widget post: fetched when the
  // form is first focused (one request, however many fields get the focus),
  // and again when it has expired. Never fails: a post without a token is
  // refused, and the form says why.
  function formToken(ctx, renew) {
    const field = ctx.form.elements.form_token;
    if (renew || !(field.value || ctx.token)) {
      ctx.token = call("GET", "form-token", ctx)
        .then((d) => (field.value = d.form_token), () => {})
        .then(() => (ctx.token = 0)); // the next focus or post may ask again
    }
    return ctx.token;
  }

  // The form's message line stays (emptied): a live region is announced when its
  // text changes, not when it is added.
  function clearErrors(form) {
    for (const el of form.querySelectorAll(".parley-error-text")) el.remove();
    flash(form, "");
    for (const el of form.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
      el.parentNode.classList.remove("parley-invalid");
    }
  }

  // Each field's message beside it; the first wrong field (in the form's order) gets the focus.
  function showErrors(form, fields) {
    for (const name in fields) {
      const input = form.elements[name];
      if (!input || input.type === "hidden" || name === "hp") continue;
      const id = (input.id || name) + "-error";
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      input.parentNode.classList.add("parley-invalid");
      input.after(h("span", { className: "parley-error-text", id, textContent: fields[name] }));
    }
    const first = form.querySelector("[aria-invalid]");
    if (first) first.focus();
  }

  async function send(ctx) {
    const form = ctx.form;
    const f = form.elements;
    const submit = form.querySelector("[type=submit]");
    // aria-disabled, not disabled: a disabled button loses the focus.
    if (submit.ariaDisabled == "true") return;
    clearErrors(form);
    submit.ariaDisabled = true;
    try {
      await formToken(ctx);
      const body = {};
      for (const k of ["name", "email", "text", "website", "parent", "form_token", "hp"]) {
        if (f[k].value) body[k] = f[k].value;
      }
      if (body.parent) body.parent = +body.parent;
      if (!ctx.framed) {
        // The host page's title and address (a framed page does not know them).
        body.title = document.title;
        body.url = location.href;
      }
      // With the visitor key: it shows a resent comment is this reader's (the service
      // answers with the first one), and it is what lets a site trust a returning author.
      const d = await asVisitor(ctx, "POST", "comments", body);
      update((state) => {
        state.c[d.comment.id] = {
          t: d.edit_token, x: body.text, s: ctx.site, p: ctx.page, at: Date.now(), st: d.status, j: d.comment,
        };
      });
      f.text.value = "";
      f.form_token.value = ""; // one token per post
      await refreshThread(ctx);
      go(ctx, "#c" + d.comment.id);
      flash(form, d.status === "pending" ? ctx.T.held : ctx.T.sent);
    } catch (e) {
      let text = message(ctx, e);
      if (e.code === "form_expired" || e.code === "bad_form_token") {
        formToken(ctx, true);
        text = ctx.T.expired;
      }
      showErrors(form, e.fields); // none: a network error
      flash(form, text, true);
    } finally {
      submit.ariaDisabled = false;
    }
  }

  function reply(ctx, article) {
    const form = ctx.form;
    form.elements.parent.value = article.dataset.id;
    actionsOf(article).after(form);
    ctx.title.textContent = fill(ctx.T.replyTo, article.querySelector(".parley-author").textContent) + " ";
    ctx.title.append(h("button", { type: "button", className: "parley-link", "data-action": "cancel", textContent: ctx.T.cancel }));
    form.elements.text.focus();
  }

  function cancelReply(ctx) {
    if (!ctx.form || !ctx.form.elements.parent.value) return;
    ctx.form.elements.parent.value = "";
    ctx.title.textContent = ctx.heading;
    ctx.home.append(ctx.form);
  }

  /* ------------------------------------------- edit, delete and likes */

  function edit(ctx, article) {
    const id = article.dataset.id;
    const mine = load().c[id];
    const body = article.querySelector(":scope>.parley-body");
    if (!mine || body.hidden) return;
    const text = h("textarea", { value: mine.x || body.textContent.trim(), rows: 6, "aria-label": ctx.T.edit });
    const form = h("form", { className: "parley-form parley-edit" }, text, h("p", {},
      h("button", { type: "submit", textContent: ctx.T.save }),
      h("button", { type: "button", className: "parley-link", textContent: ctx.T.cancel, onclick: close })));
    function close() {
      form.remove();
      body.hidden = false;
      article.focus(); // the comment, as it is now
    }
    form.onsubmit = async (e) => {
      e.preventDefault();
      try {
        const d = await call("PATCH", "comments/" + id, ctx, { text: text.value }, { "X-Parley-Edit-Token": mine.t });
        update((state) => {
          const stored = state.c[id];
          if (stored) {
            stored.x = text.value;
            if (stored.j) stored.j = d.comment;
          }
        });
        body.innerHTML = d.comment.html; // the service's own sanitised HTML
        const meta = article.querySelector(":scope>.parley-meta");
        if (!meta.querySelector(".parley-edited")) {
          meta.append(h("span", { className: "parley-edited", textContent: "(edited)" }));
        }
        close();
      } catch (err) {
        flash(form, message(ctx, err), true);
      }
    };
    body.hidden = true;
    body.after(form);
    text.focus();
  }

  async function remove(ctx, article) {
    const id = article.dataset.id;
    const mine = load().c[id];
    if (!mine || !confirm(ctx.T.confirm)) return;
    try {
      await call("DELETE", "comments/" + id, ctx, null, { "X-Parley-Edit-Token": mine.t });
      update((state) => delete state.c[id]);
      await refreshThread(ctx);
      // Its placeholder ("This comment was deleted") if it had replies, else the count.
      focus(ctx, "#c" + id, ".parley-count");
    } catch (e) {
      flash(actionsOf(article), message(ctx, e), true);
    }
  }

  async function like(ctx, article, el) {
    const on = el.getAttribute("aria-pressed") !== "true";
    if (el.ariaBusy == "true") return; // not disabled: that would take the focus away
    el.ariaBusy = true;
    try {
      const d = await asVisitor(ctx, on ? "PUT" : "DELETE", "comments/" + article.dataset.id + "/like");
      el.setAttribute("aria-pressed", d.liked);
      el.querySelector(".parley-like-n").textContent = d.likes;
    } catch (e) {
      flash(actionsOf(article), message(ctx, e), true);
    } finally {
      el.ariaBusy = false;
    }
  }

  /* -------------------------------------------------------- the rating */

  // The visitor's own vote, shown over the public box.
  function showYours(ctx, yours) {
    ctx.yours = yours; // kept over live updates
    const form = ctx.root.querySelector(".parley-rate");
    if (!form) return;
    const actions = form.querySelector(".parley-rate-actions");
    for (const el of actions.querySelectorAll(".parley-yours, [value=retract], [data-action=retract]")) el.remove();
    for (const radio of form.querySelectorAll("[name=value]")) radio.checked = radio.value == yours; // "3" and 3; never null
    if (yours) {
      actions.append(
        h("button", { type: "button", className: "parley-secondary", "data-action": "retract", textContent: ctx.T.retract }),
        h("span", { className: "parley-yours", textContent: fill(ctx.T.yours, yours) }),
      );
    }
  }

  // The rating box's JSON-LD goes into the host page's <head> (as a new
  // element with textContent: it is JSON from the service, never HTML).
  function jsonld(ctx) {
    const found = ctx.root.querySelector("[type='application/ld+json']");
    if (ctx.ld) ctx.ld.remove();
    if (!found) return;
    found.remove();
    document.head.append((ctx.ld = h("script", { type: "application/ld+json", textContent: found.textContent })));
  }

  async function rate(ctx, value) {
    const box = ctx.root.querySelector(".parley-rate");
    try {
      const summary = await asVisitor(ctx, value ? "PUT" : "DELETE", "ratings", value ? { value } : null);
      const content = await fragment("rating", "?" + query(ctx));
      ctx.root.querySelector(".parley-rating").replaceWith(content.querySelector(".parley-rating"));
      ctx.rating = content.text;
      if (!ctx.framed) jsonld(ctx);
      showYours(ctx, summary.yours);
      // The box was replaced: the focus goes to the vote (or the first star).
      focus(ctx, ".parley-star-input:checked", ".parley-star-input");
    } catch (e) {
      flash(box, message(ctx, e), true);
    }
  }

  // The stars are a radio group: a click, a tap, Space or Enter on a star casts
  // that vote (`cast(star)`); the arrow keys only move the choice (a browser
  // clicks the radio it moves to: those clicks are ignored), and Enter casts it.
  // The "Rate" button, for readers without the script, is hidden.
  function stars(root, cast) {
    let moving;
    root.classList.add("parley-stars-js");
    root.addEventListener("keydown", (e) => {
      const star = e.target;
      if (!star.matches(".parley-star-input")) return;
      if (e.key == "Enter" || e.key == " ") {
        e.preventDefault();
        star.checked = true;
        cast(star);
      } else {
        moving = 1;
        setTimeout(() => (moving = 0));
      }
    });
    root.addEventListener("click", (e) => {
      if (e.target.matches(".parley-star-input") && !moving) cast(e.target);
    });
  }

  /* --------------------------------------------------------- one widget */

  // What a click on [data-action] does: (ctx, its comment, the element).
  const ACTIONS = {
    reply,
    like,
    edit,
    delete: remove,
    retract: (ctx) => rate(ctx, 0),
    // Back to the Reply link the reader came from.
    cancel(ctx) {
      const id = ctx.form.elements.parent.value;
      cancelReply(ctx);
      focus(ctx, "#c" + id + ">.parley-actions>[data-action=reply]");
    },
    // The skip link: in a shadow root "#reply" cannot be followed.
    skip: (ctx) => ctx.form.elements.text.focus(),
    // A comment's Report link: its form comes with embed-report.js.
    report: (ctx, article, el) => need("report").then((open) => open(ctx, article, el), () => flash(actionsOf(article), ctx.T.net, true)),
  };

  // Wire a mounted widget (a shadow root's box, or the framed page's <main>).
  function enhance(ctx) {
    const root = ctx.root;
    root.classList.add("parley-js"); // shows what needs the script (like buttons)
    root.addEventListener("click", (e) => {
      const target = e.target.closest("[data-action], [data-more]");
      if (!target) return;
      const article = target.closest(".parley-comment");
      const action = target.dataset.action;
      e.preventDefault();
      (action ? ACTIONS[action] : more)(ctx, article, target);
    });
    root.addEventListener("submit", (e) => {
      e.preventDefault();
      const checked = e.target.querySelector(".parley-star-input:checked");
      if (e.target === ctx.form) send(ctx);
      else if (checked) rate(ctx, +checked.value);
    });
    root.addEventListener("focusin", (e) => {
      if (ctx.form && ctx.form.contains(e.target)) formToken(ctx);
    });
    stars(root, (star) => rate(ctx, +star.value));

    ctx.form = root.querySelector(".parley-form");
    if (ctx.form) {
      ctx.home = ctx.form.parentNode;
      ctx.title = ctx.form.querySelector("h2");
      ctx.heading = ctx.title.textContent;
      flash(ctx.form, ""); // its message line, in place before anything is said
    }
    if (root.querySelector(".parley-thread")) {
      decorate(ctx);
      // A comment's permalink (#c12) is in this page's address: go there.
      const jump = () => {
        if (/^#c\d+$/.test(location.hash)) go(ctx, location.hash);
      };
      jump();
      addEventListener("hashchange", jump);
    }
    if (root.querySelector(".parley-rating")) {
      if (!ctx.framed) jsonld(ctx);
      getOwn(ctx, "ratings", (d) => showYours(ctx, d.yours));
    }
  }

  function context(el, lang) {
    return {
      site: el.dataset.site || "default",
      page: el.dataset.page || location.pathname,
      lang: lang || document.documentElement.lang,
    };
  }

  // Script mode: the fragment in a shadow root. Iframe mode: the standalone page.
  // When the service cannot be reached, the placeholder keeps its own content.
  async function mount(el) {
    const d = el.dataset;
    const ctx = context(el, d.lang);
    if (d.mode === "iframe") return frame(el, ctx);
    try {
      const content = await fragment(d.parley, "?" + query(ctx));
      const root = content.querySelector("[data-t]");
      speak(ctx, root);
      if (d.theme) root.dataset.theme = d.theme; // the host page's choice over the site's
      ctx[d.parley] = content.text; // what is shown (see `live`)
      // Shown and wired once its styles are in (a hidden box cannot scroll
      // to a permalink, nor be used).
      const box = (ctx.root = h("div", { hidden: true }, content));
      const link = h("link", { rel: "stylesheet", href: CSS });
      link.onload = link.onerror = () => {
        box.hidden = false;
        enhance(ctx);
        live(ctx, d.live);
      };
      el.attachShadow({ mode: "open" }).append(link, box);
    } catch (e) {
      // not mounted: nothing to undo
    }
  }

  function frame(el, ctx) {
    const d = el.dataset;
    let src = BASE + "/thread?" + query(ctx) + "&frame=1&origin=" + enc(location.origin);
    for (const k of ["theme", "live"]) if (d[k]) src += "&" + k + "=" + enc(d[k]);
    const iframe = h("iframe", { src, loading: "lazy", width: "100%", height: 600, frameBorder: 0 });
    strings(ctx).then((T) => (iframe.title = T.frame), () => {});
    el.append(iframe);
    // Heights only from the service, and only from this iframe.
    addEventListener("message", (e) => {
      const data = e.data;
      if (e.origin === ORIGIN && e.source === iframe.contentWindow && data && data.parley === "height") {
        iframe.style.height = (data.height | 0) + "px";
      }
    });
  }

  // Inside the iframe: enhance the standalone page and report its height.
  function framed(main) {
    const params = new URLSearchParams(location.search);
    if (params.get("theme")) document.body.setAttribute("data-theme", params.get("theme"));
    const ctx = speak(Object.assign(context(main, params.get("lang")), { root: main, framed: true }), main);
    enhance(ctx);
    live(ctx, params.get("live"));
    const to = main.dataset.parentOrigin;
    if (to) {
      const html = document.documentElement;
      new ResizeObserver(() => {
        parent.postMessage({ parley: "height", height: Math.ceil(html.getBoundingClientRect().height) }, to);
      }).observe(html);
    }
  }

  /* ------------------------------------------------------ live updates */

  // A chunk by name: its script is added once, and it hands its code over
  // with `Parley.define` (the loader's internals it needs are passed to it).
  const chunks = {};
  const need = (name) => chunks[name] || (chunks[name] = new Promise((resolve, reject) => {
    chunks["+" + name] = resolve;
    document.head.append(h("script", {
      src: CHUNKS[name].replace(/^_.*/, BASE + "/static/embed-" + name + ".js"),
      onerror() {
        chunks[name] = 0; // asked for again next time
        reject();
      },
    }));
  }));
  const INTERNALS = { query, fragment, decorate, more, jsonld, showYours, h, flash, message, asVisitor, actionsOf };

  // Live updates: every `every` seconds (data-live; at least 5, default 10;
  // "off" or 0: none) the widget's public fragments are asked for again, past
  // the browser's cache, while the page is visible. Their code (embed-live.js)
  // loads with the first poll, so a reader who leaves before then never loads it.
  function live(ctx, every) {
    const s = every ? +every : 10;
    const ms = Math.max(s, 5) * 1e3;
    if (s > 0) {
      setTimeout(function first() {
        if (document.visibilityState === "hidden") document.addEventListener("visibilitychange", first, { once: true });
        else need("live").then((start) => start(ctx, ms), () => setTimeout(first, ms));
      }, ms);
    }
  }

  /* ------------------------------------------------------------ counts */

  // All count placeholders at once, per site: one GET when the batch fits (20
  // pages and a 4,000-byte URL: cacheable, by proxies too), else one POST per
  // 100 pages.
  function counts(els) {
    const bySite = {};
    for (const el of els) {
      const ctx = context(el, el.dataset.lang);
      (bySite[ctx.site] = bySite[ctx.site] || []).push([el, ctx]);
    }
    // Numbers only: one request for every language on the page, which carries the
    // page's own language; each placeholder's text comes in its own (`strings`).
    const lang = document.documentElement.lang;
    for (const site in bySite) {
      const list = bySite[site];
      const pages = [...new Set(list.map((x) => x[1].page))];
      const show = (d) => {
        for (const [el, ctx] of list) {
          const n = d.counts[ctx.page];
          if (n) strings(ctx).then((T) => {
            let text = fill(T.n[new Intl.PluralRules(T.lang).select(n.comments)] || T.n.other, n.comments);
            if (el.dataset.show === "rating" && n.rating_count) text += " \u00b7 \u2605\u00a0" + n.rating_average.toFixed(1);
            el.textContent = text;
          }, () => {});
        }
      };
      const one = { site, lang, page: pages };
      if (pages.length <= 20 && (BASE + "/api/v1/counts?" + query(one)).length <= 4000) {
        call("GET", "counts", one).then(show, () => {});
      } else {
        for (let i = 0; i < pages.length; i += 100) {
          call("POST", "counts", { site, lang }, { pages: pages.slice(i, i + 100) }).then(show, () => {});
        }
      }
    }
  }

  /* ------------------------------------------------------------- start */

  // Every placeholder not handled yet; widgets load as they near the viewport.
  function scan() {
    const found = [];
    const eager = /^#c\d+$/.test(location.hash) || !window.IntersectionObserver;
    const observer = !eager && new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          mount(entry.target);
        }
      }
    }, { rootMargin: "600px 0px" });
    for (const el of document.querySelectorAll("[data-parley]")) {
      if (el.parleySeen) continue;
      el.parleySeen = 1;
      if (el.dataset.parley === "count") found.push(el);
      else if (observer) observer.observe(el);
      else mount(el);
    }
    if (found.length) counts(found);
  }

  function start() {
    const main = document.querySelector("[data-parley-frame]");
    const page = document.querySelector(".parley-standalone");
    if (main) framed(main);
    else scan();
    // The standalone page stays a plain form page: a star posts its form.
    if (page && !main) stars(page, (star) => star.form.requestSubmit());
  }

  window.Parley = { scan, define: (name, make) => chunks["+" + name](make(INTERNALS)) };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
