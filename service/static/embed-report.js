/*
 * Parley embed-report.js: a reader reports a comment to the site's moderators.
 *
 * Loaded by embed.js on the first click of a comment's "Report" link (whose
 * href, without the script, is the standalone page's report form). A small
 * form opens under the comment: the reason (plain text, seen by the site's
 * moderators only) goes to POST /api/v1/comments/{id}/report with the
 * reader's visitor key. One report per reader and comment counts; the
 * service answers a repeat the same way. The comment's message line says how
 * it went, and the focus goes back to the Report link.
 */
Parley.define("report", (P) => (ctx, article, link) => {
  const actions = P.actionsOf(article);
  const open = actions.querySelector(".parley-report-form");
  if (open) return open.elements.reason.focus();
  P.flash(actions, ""); // the comment's message line, there before anything is said
  const reason = P.h("textarea", { name: "reason", rows: 3 });
  const send = P.h("button", { type: "submit", textContent: ctx.T.report });
  const form = P.h("form", { className: "parley-form parley-report-form" },
    P.h("label", {}, ctx.T.why, reason),
    P.h("p", {}, send, P.h("button", { type: "button", className: "parley-link", textContent: ctx.T.cancel, onclick: close })));
  function close() {
    form.remove();
    link.focus();
  }
  form.onsubmit = async (e) => {
    e.preventDefault();
    if (send.ariaDisabled == "true") return; // not disabled: that would take the focus away
    send.ariaDisabled = true;
    try {
      await P.asVisitor(ctx, "POST", "comments/" + article.dataset.id + "/report", { reason: reason.value });
      close();
      P.flash(actions, ctx.T.reported);
    } catch (err) {
      P.flash(form, P.message(ctx, err), true);
    } finally {
      send.ariaDisabled = false;
    }
  };
  actions.after(form);
  P.flash(form, "");
  reason.focus();
});
