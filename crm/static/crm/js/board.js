/* The lead board. A card dragged to another column (SortableJS), or moved with its "Move…" menu, is
   posted to its move URL with the status it was drawn in; the server answers JSON. A refused move
   snaps back with the server's message; a status that needs a reason (a lost one: picked from the list) or a follow-up date asks for it
   in a dialog first; a card someone else moved meanwhile goes where it now is. The header's filters
   reload the results (Wagtail's w-swap), so the lists are set up again after every reload. Without
   JavaScript the menu's form posts and the server redirects back with a message. */
(function () {
  "use strict";

  var script = document.getElementById("crm-board-script");
  var texts = (script && script.dataset) || {};
  var sortables = [];

  function say(text, type) {
    document.dispatchEvent(
      new CustomEvent("w-messages:add", { detail: { clear: true, text: text, type: type || "success" } })
    );
  }

  function csrfToken() {
    var input = document.querySelector("[data-board-csrf] input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function columnOf(statusId) {
    return document.querySelector('[data-board-list][data-status="' + statusId + '"]');
  }

  /* The column (or closed drop target) a list belongs to: it holds the status's label and needs. */
  function targetOf(list) {
    return list.closest(".crm-board__column, .crm-board__drop") || list;
  }

  function counter(list) {
    var holder = targetOf(list);
    return holder ? holder.querySelector(".crm-board__count") : null;
  }

  function addToCount(list, delta) {
    var count = list && counter(list);
    if (!count || count.hasAttribute("data-capped")) { return; }
    var value = Math.max(0, parseInt(count.dataset.count || "0", 10) + delta);
    count.dataset.count = String(value);
    count.textContent = value.toLocaleString(document.documentElement.lang || undefined);
  }

  /* Where the card was, so a refused move puts it back exactly there. */
  function placeOf(card) {
    return { list: card.parentNode, next: card.nextElementSibling };
  }

  function putBack(card, place) {
    if (!place || !place.list) { return; }
    if (place.next && place.next.parentNode === place.list) {
      place.list.insertBefore(card, place.next);
    } else {
      place.list.appendChild(card);
    }
  }

  function needsFor(card, list) {
    var target = targetOf(list);
    var needs = [];
    if (target.hasAttribute("data-requires-lost-reason") && reasonsLoaded()) { needs.push("lost_reason", "note"); }
    if (target.hasAttribute("data-requires-follow-up") && !card.hasAttribute("data-has-follow-up")) {
      needs.push("follow_up_at");
    }
    return needs;
  }

  /* The lost reasons come with the first answer that asks for one; until then a lost drop posts first. */
  function reasonSelect() {
    return document.querySelector("[data-board-dialog] select[name=lost_reason]");
  }

  function reasonsLoaded() {
    var select = reasonSelect();
    return Boolean(select && select.options.length > 1);
  }

  function loadReasons(reasons) {
    var select = reasonSelect();
    if (!select || !reasons || reasonsLoaded()) { return; }
    reasons.forEach(function (reason) {
      select.appendChild(new Option(reason.label, String(reason.id)));
    });
  }

  function mayMove(card, statusId) {
    return (card.dataset.moves || "").split(",").indexOf(String(statusId)) !== -1;
  }

  /* The dialog that asks for a reason and/or a follow-up date; resolves with the answers or null. */
  function ask(card, list, needs, error) {
    var dialog = document.querySelector("[data-board-dialog]");
    if (!dialog || typeof dialog.showModal !== "function") { return Promise.resolve(null); }
    var form = dialog.querySelector("form");
    var target = targetOf(list);
    dialog.querySelector("[data-dialog-title]").textContent = (dialog.dataset.titleTemplate || "")
      .replace("__LEAD__", card.dataset.label || "")
      .replace("__STATUS__", target.dataset.statusLabel || "");
    var problem = dialog.querySelector("[data-dialog-error]");
    problem.textContent = error || "";
    problem.hidden = !error;
    dialog.querySelectorAll("[data-dialog-field]").forEach(function (field) {
      var wanted = needs.indexOf(field.dataset.dialogField) !== -1;
      field.hidden = !wanted;
      var input = field.querySelector("textarea, input, select");
      input.required = wanted && !field.hasAttribute("data-dialog-optional");
      if (!error) { input.value = ""; }
    });
    return new Promise(function (resolve) {
      function done() {
        dialog.removeEventListener("close", done);
        if (dialog.returnValue !== "confirm") { resolve(null); return; }
        var answers = {};
        needs.forEach(function (name) { answers[name] = form.elements[name].value; });
        resolve(answers);
      }
      dialog.returnValue = "";
      dialog.addEventListener("close", done);
      dialog.showModal();
      var first = dialog.querySelector("[data-dialog-field]:not([hidden]) select, [data-dialog-field]:not([hidden]) textarea, [data-dialog-field]:not([hidden]) input");
      if (first) { first.focus(); }
    });
  }

  function post(card, statusId, answers) {
    var body = new FormData();
    body.append("status", statusId);
    body.append("from_status", card.dataset.status);
    Object.keys(answers || {}).forEach(function (name) { body.append(name, answers[name]); });
    return fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(
        function (data) { return { code: response.status, data: data }; },
        function () { return { code: response.status, data: { message: texts.networkError } }; }
      );
    }, function () {
      return { code: 0, data: { message: texts.networkError } };
    });
  }

  /* The card's new self from the server, in its new column (at the top), or gone if it was closed. */
  function settle(card, html, statusId) {
    var list = columnOf(statusId);
    var fresh = null;
    if (html) {
      var holder = document.createElement("ol");
      holder.innerHTML = html.trim();
      fresh = holder.querySelector("[data-card]");
    }
    if (fresh && list && !targetOf(list).matches(".crm-board__drop")) {
      list.insertBefore(fresh, list.firstElementChild);
    }
    card.remove();
    return fresh;
  }

  /* Move ``card`` (drawn in ``place``) to the column ``list``; the card may already sit in it (a drop). */
  function move(card, list, place, answers, fromMenu) {
    var statusId = list.dataset.status;
    var needs = mayMove(card, statusId) ? needsFor(card, list) : [];
    var asking = needs.length && !answers ? ask(card, list, needs) : Promise.resolve(answers || {});
    return asking.then(function (given) {
      if (given === null) { putBack(card, place); return; }
      card.classList.add("is-moving");
      return post(card, statusId, given).then(function (result) {
        card.classList.remove("is-moving");
        var data = result.data || {};
        if (result.code === 200) {
          addToCount(place.list, -1);
          addToCount(list, 1);
          var fresh = settle(card, data.card, statusId);
          if (fresh && fromMenu) { fresh.querySelector("a").focus(); }
          say(data.message, "success");
        } else if (result.code === 400 && data.needs) {
          putBack(card, place);
          loadReasons(data.reasons);
          var asked = data.needs === "lost_reason" ? ["lost_reason", "note"] : [data.needs];
          var more = needs.concat(asked.filter(function (name) { return needs.indexOf(name) === -1; }));
          return ask(card, list, more, data.message).then(function (again) {
            if (again === null) { return; }
            return move(card, list, place, again, fromMenu);
          });
        } else if (result.code === 409 && data.status) {
          addToCount(place.list, -1);
          addToCount(columnOf(data.status.id), 1);
          settle(card, data.card, data.status.id);
          say(data.message, "warning");
        } else {
          putBack(card, place);
          say(data.message || texts.networkError, "error");
        }
      });
    });
  }

  function onDrop(event) {
    var card = event.item;
    var place = { list: event.from, next: event.from.children[event.oldIndex] || null };
    if (event.to === event.from) {
      putBack(card, place); // within a column the order is the listing's, not the person's
      return;
    }
    move(card, event.to, place);
  }

  function onMenu(event) {
    var form = event.target.closest("[data-move-form]");
    if (!form) { return; }
    event.preventDefault();
    var card = form.closest("[data-card]");
    var list = columnOf(form.elements.status.value);
    if (!card || !list) { form.submit(); return; }
    var menu = form.closest("details");
    if (menu) { menu.open = false; }
    move(card, list, placeOf(card), null, true);
  }

  function loadMore(event) {
    var link = event.target.closest("[data-more-url]");
    if (!link) { return; }
    event.preventDefault();
    if (link.getAttribute("aria-busy") === "true") { return; }
    link.setAttribute("aria-busy", "true");
    var label = link.textContent;
    link.textContent = texts.loading || label;
    fetch(link.dataset.moreUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var list = link.parentNode.querySelector("[data-board-list]");
        var holder = document.createElement("ol");
        holder.innerHTML = (data.html || "").trim();
        Array.prototype.slice.call(holder.children).forEach(function (card) {
          if (!list.querySelector('[data-lead="' + card.dataset.lead + '"]')) { list.appendChild(card); }
        });
        if (data.more_url) {
          link.dataset.moreUrl = data.more_url;
          link.textContent = label;
          link.removeAttribute("aria-busy");
        } else {
          link.remove();
        }
      })
      .catch(function () {
        link.textContent = label;
        link.removeAttribute("aria-busy");
        say(texts.networkError, "error");
      });
  }

  function setUp() {
    sortables.forEach(function (sortable) { sortable.destroy(); });
    sortables = [];
    if (typeof Sortable === "undefined") { return; }
    document.querySelectorAll("[data-board-list]").forEach(function (list) {
      var closed = list.classList.contains("crm-board__drop");
      sortables.push(
        Sortable.create(list, {
          group: { name: "crm-board", pull: !closed, put: true },
          sort: false,
          draggable: "[data-card]",
          filter: ".crm-card__menu",
          preventOnFilter: false,
          forceFallback: true,
          fallbackOnBody: true,
          delay: 250,
          delayOnTouchOnly: true,
          animation: 120,
          ghostClass: "is-ghost",
          chosenClass: "is-chosen",
          dragClass: "is-dragging",
          onEnd: onDrop
        })
      );
    });
  }

  function start() {
    setUp();
    document.addEventListener("submit", onMenu);
    document.addEventListener("click", loadMore);
    document.addEventListener("w-swap:success", setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
