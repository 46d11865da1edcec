// Polls an import's progress while it runs, then reloads the page to show its outcome.
(function () {
    const box = document.querySelector("[data-import-progress]");
    if (!box || box.dataset.active !== "1") return;
    const url = box.dataset.importProgress;
    const show = (name, value) => {
        const node = box.querySelector(`[data-field="${name}"]`);
        if (node) node.textContent = value;
    };
    const poll = () => {
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
            .then((response) => (response.ok ? response.json() : null))
            .then((data) => {
                if (!data) return;
                box.querySelector('[data-field="bar"]').value = data.percent;
                ["state_label", "percent", "created", "updated", "skipped", "errors"].forEach((name) => show(name, data[name]));
                if (data.active) {
                    window.setTimeout(poll, 1000);
                } else {
                    window.location.reload();
                }
            })
            .catch(() => window.setTimeout(poll, 3000));
    };
    window.setTimeout(poll, 500);
})();
