/* The public site's menu button: on a phone's screen (W3.CSS "small", up to 600 px) the menu folds behind
   it. It runs right after the <nav>, before the page below is drawn, so the menu never shows open first.
   Without this script the button stays hidden and the menu open. */
(function () {
    "use strict";
    var nav = document.querySelector("[data-site-nav]");
    var toggle = nav && nav.querySelector("[data-site-menu-toggle]");
    var menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) {
        return;
    }

    function setOpen(open) {
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        nav.setAttribute("data-menu", open ? "open" : "closed");
    }

    setOpen(false);
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
        setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    nav.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
            setOpen(false);
            toggle.focus();
        }
    });
})();
