/*
 * Parley embed-live.js: live updates for the widgets embed.js mounted.
 *
 * Loaded by embed.js with a widget's first poll (docs/embedding.md, "Live
 * updates"), from a versioned, long-cached URL. Every few seconds, while the
 * page is visible, each widget asks for its public fragments again, past the
 * browser's cache: the browser revalidates its copy with If-None-Match and
 * the service answers 304 while nothing changed. Nothing personal goes with
 * these requests (no cookies, no visitor key), so every reader gets the same
 * shared answers. A changed fragment replaces what is shown, without
 * disturbing the reader: the reply form being written moves over with its
 * text and focus, an open edit or a chosen but unsent star postpones the
 * update, and the reader's own comments, likes and vote are put back.
 */
Parley.define("live", (P) => {
  // The element that has the focus, if `old` holds it, and how to give the
  // focus back to it (a node moved over) or to its copy in what replaces `old`.
  function keepFocus(ctx, old) {
    const el = ctx.root.getRootNode().activeElement;
    if (!el || !old.contains(el)) return () => {};
    const start = el.selectionStart;
    const end = el.selectionEnd;
    const comment = el.closest(".parley-comment");
    const action = el.dataset.action;
    const find = el.id ? "#" + CSS.escape(el.id)
      : action ? (comment ? "#" + comment.id + ">.parley-actions>" : "") + "[data-action=" + action + "]"
        : el.value && '[value="' + CSS.escape(el.value) + '"]';
    return (root) => {
      const again = el.isConnected ? el : find && root.querySelector(find);
      if (!again) return;
      again.focus({ preventScroll: true });
      if (again === el && start != null) el.setSelectionRange(start, end);
    };
  }

  // The thread: replaced as a whole, unless the reader is editing a comment or
  // a "more" page is loading (then the next poll tries again). The reply form
  // moves to the same comment in the new thread; "more" pages the reader
  // opened are opened again; the comment in view stays where it was on screen.
  async function thread(ctx, content) {
    const old = ctx.root.querySelector(".parley-thread");
    const fresh = content.querySelector(".parley-thread");
    const form = ctx.form;
    const parent = form && form.elements.parent.value;
    const at = parent && fresh.querySelector("#c" + parent + ">.parley-actions");
    if (old.querySelector(".parley-edit, [data-busy]") || (parent && !at)) return;
    const liked = [...old.querySelectorAll(".parley-like[aria-pressed=true]")].map((b) => b.closest(".parley-comment").id);
    const target = old.querySelector(".parley-target");
    const inView = [...old.querySelectorAll(".parley-comment")].find((c) => c.getBoundingClientRect().top >= 0);
    const top = inView && inView.getBoundingClientRect().top;
    const back = keepFocus(ctx, old);
    old.replaceWith(fresh);
    if (at) at.after(form);
    P.decorate(ctx, 1);
    closed(ctx, content);
    // As many pages of each "more" link as the reader opened, asked for past
    // the browser's cache too.
    const opened = {};
    const key = (link) => link.dataset.more + link.dataset.parent;
    const next = () => [...fresh.querySelectorAll("[data-more]")].find((l) => !l.next && (opened[key(l)] | 0) < ctx.open[key(l)]);
    for (let link; (link = next());) {
      opened[key(link)] = (opened[key(link)] | 0) + 1;
      link.next = P.fragment("comments", link.search + "&part=1", 1);
      await P.more(ctx, link.closest(".parley-comment"), link, 1);
    }
    for (const id of liked) {
      const like = fresh.querySelector("#" + id + ">.parley-actions>.parley-like");
      if (like) like.setAttribute("aria-pressed", "true");
    }
    back(fresh);
    const same = (id) => id && fresh.querySelector("#" + id);
    if (same(target && target.id)) same(target.id).classList.add("parley-target");
    if (same(inView && top < innerHeight && inView.id)) scrollBy(0, same(inView.id).getBoundingClientRect().top - top);
    return 1;
  }

  // A page closed meanwhile (by a moderator, or its closing time passed): the
  // notice takes the form's place, and the skip link to it goes. A form the
  // reader has typed into stays, above the notice (the service refuses it).
  function closed(ctx, content) {
    const notice = content.querySelector(".parley-closed");
    const form = ctx.form;
    if (!notice || !form || ctx.root.querySelector(".parley-closed")) return;
    ctx.home.append(notice);
    const skip = ctx.root.querySelector(".parley-skip");
    if (skip) skip.remove();
    if (!form.elements.text.value) {
      form.remove();
      ctx.form = 0;
    }
  }

  // The score box: replaced, then the reader's own vote shown over it again;
  // not while a star is chosen and not sent yet.
  function rating(ctx, content) {
    const old = ctx.root.querySelector(".parley-rating");
    const chosen = old.querySelector(":checked");
    if (chosen && chosen.value != ctx.yours) return; // "3" and 3
    const back = keepFocus(ctx, old);
    old.replaceWith(content.querySelector(".parley-rating"));
    if (!ctx.framed) P.jsonld(ctx);
    P.showYours(ctx, ctx.yours);
    back(ctx.root);
    return 1;
  }

  const KINDS = { comments: [".parley-thread", thread], rating: [".parley-rating", rating] };

  // Poll every `ms` while the page is visible (at once when it becomes visible
  // again); stop for good once the widget has left the page.
  const hidden = () => document.visibilityState === "hidden";
  return (ctx, ms) => {
    let timer;
    let running;
    ctx.open = ctx.open || {};
    async function poll() {
      clearTimeout(timer);
      if (running || hidden()) return;
      if (!ctx.root.isConnected) return document.removeEventListener("visibilitychange", poll);
      running = 1;
      for (const kind in KINDS) {
        const [selector, apply] = KINDS[kind];
        if (hidden() || !ctx.root.querySelector(selector)) continue;
        try {
          const content = await P.fragment(kind, "?" + P.query(ctx), 1);
          // What the widget shows is kept only once it is shown.
          if (content.text !== ctx[kind] && (await apply(ctx, content))) ctx[kind] = content.text;
        } catch (e) {
          // no connection: the next poll asks again
        }
      }
      running = 0;
      if (!hidden()) timer = setTimeout(poll, ms);
    }
    document.addEventListener("visibilitychange", poll);
    poll();
  };
});
