// The lead page's WhatsApp conversation: new messages and statuses appear while the page is open
// (the messages are fetched again every few seconds while the tab is visible).
(function () {
    "use strict";
    var INTERVAL = 5000;

    function refresh(list) {
        if (document.hidden) {
            return;
        }
        fetch(list.dataset.refreshUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
            .then(function (response) {
                return response.ok ? response.text() : null;
            })
            .then(function (html) {
                if (html !== null && html.trim() !== list.dataset.lastHtml) {
                    var atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
                    list.innerHTML = html;
                    list.dataset.lastHtml = html.trim();
                    if (atBottom) {
                        list.scrollTop = list.scrollHeight;
                    }
                }
            })
            .catch(function () {});
    }

    function start() {
        var list = document.querySelector("[data-conversation-messages]");
        if (!list) {
            return;
        }
        list.scrollTop = list.scrollHeight;
        window.setInterval(function () {
            refresh(list);
        }, INTERVAL);
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
