/* The moderation queue, enhanced: a "select all" box and keyboard shortcuts.

   Without this script everything still works: "Select all on this page" is a link that
   shows the page with every box checked, and every action is a button of the form
   "bulk". The keys (listed on the page, docs/decisions.md) never act while the focus is
   in a field one types in, and can be switched off (remembered in this browser). */
(function () {
  "use strict";
  var table = document.querySelector("table[data-queue]");
  var form = document.getElementById("bulk");
  if (!table || !form) return;
  var STORE = "parley-admin-keys";

  function all(selector) {
    return Array.prototype.slice.call(table.querySelectorAll(selector));
  }
  function boxes() {
    return all('tbody input[name="ids"]');
  }
  function rows() {
    return all("tbody tr[data-row]");
  }

  // --- select all ------------------------------------------------------------------
  var pickAll = document.getElementById("pick-all");
  var pickBox = document.getElementById("pick-all-box");
  var pickLink = document.getElementById("pick-all-link");
  function sync() {
    var list = boxes();
    var checked = list.filter(function (box) { return box.checked; }).length;
    pickAll.checked = list.length > 0 && checked === list.length;
    pickAll.indeterminate = checked > 0 && checked < list.length;
  }
  if (pickAll && pickBox && boxes().length) {
    pickBox.hidden = false;
    if (pickLink) pickLink.hidden = true;
    pickAll.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = pickAll.checked; });
      sync();
    });
    table.addEventListener("change", function (event) {
      if (event.target.name === "ids") sync();
    });
    sync();
  }

  // --- keyboard shortcuts ----------------------------------------------------------
  var help = document.getElementById("queue-keys");
  var toggle = document.getElementById("keys-on");
  var on = true;
  try {
    on = window.localStorage.getItem(STORE) !== "off";
  } catch (error) { /* storage refused: the keys stay on for this page */ }
  if (help) help.hidden = false;
  if (toggle) {
    toggle.checked = on;
    toggle.addEventListener("change", function () {
      on = toggle.checked;
      try {
        window.localStorage.setItem(STORE, on ? "on" : "off");
      } catch (error) { /* not remembered */ }
    });
  }

  function typing(element) {
    if (!element || !element.tagName) return false;
    if (element.isContentEditable) return true;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(element.type) < 0;
  }
  function current() {
    var element = document.activeElement;
    return element && element.closest ? element.closest("tr[data-row]") : null;
  }
  function move(step) {
    var list = rows();
    if (!list.length) return;
    var at = list.indexOf(current());
    var next = at < 0 ? (step > 0 ? 0 : list.length - 1) : at + step;
    list[Math.min(Math.max(next, 0), list.length - 1)].focus();
  }
  function boxOf(row) {
    return row ? row.querySelector('input[name="ids"]') : null;
  }
  function flip() {
    var box = boxOf(current());
    if (!box) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function act(action) {
    var button = form.querySelector('button[name="action"][value="' + action + '"]');
    if (!button) return;
    if (!boxes().some(function (box) { return box.checked; })) {
      var box = boxOf(current());
      if (!box) return;
      box.checked = true;
    }
    if (form.requestSubmit) form.requestSubmit(button);
    else button.click();
  }
  function open() {
    var row = current();
    var link = row && row.querySelector("a[data-details]");
    if (link) window.location.assign(link.href);
  }

  var KEYS = {
    j: function () { move(1); },
    k: function () { move(-1); },
    x: flip,
    a: function () { act("approve"); },
    s: function () { act("spam"); },
    d: function () { act("delete"); },
    o: open,
  };
  document.addEventListener("keydown", function (event) {
    if (!on || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var key = event.key && event.key.length === 1 ? event.key.toLowerCase() : "";
    if (!Object.prototype.hasOwnProperty.call(KEYS, key)) return;
    event.preventDefault();
    KEYS[key]();
  });
})();
