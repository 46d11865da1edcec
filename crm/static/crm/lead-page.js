/* The lead page: the timeline's filter without a reload, and "log this attempt" after a contact action. */
function crmLeadPage() {
    'use strict';
    const page = document.querySelector('[data-crm-lead-page]');
    if (!page) {
        return;
    }

    // Timeline filter: the links work without scripts (?kind=); on an unfiltered page they filter in place.
    const timeline = page.querySelector('[data-crm-timeline]');
    const empty = page.querySelector('[data-crm-timeline-empty]');
    if (timeline && timeline.dataset.filtered === 'false') {
        const links = page.querySelectorAll('[data-crm-kind]');
        links.forEach(function (link) {
            link.addEventListener('click', function (event) {
                event.preventDefault();
                const kind = link.dataset.crmKind;
                let shown = 0;
                timeline.querySelectorAll('[data-kind-group]').forEach(function (item) {
                    item.hidden = Boolean(kind) && item.dataset.kindGroup !== kind;
                    shown += item.hidden ? 0 : 1;
                });
                if (empty) {
                    empty.hidden = shown > 0;
                }
                links.forEach(function (other) {
                    const current = other === link;
                    other.classList.toggle('button-secondary', !current);
                    if (current) {
                        other.setAttribute('aria-current', 'true');
                    } else {
                        other.removeAttribute('aria-current');
                    }
                });
            });
        });
    }

    // After a call, WhatsApp or email link: offer to log the attempt, also when the rep comes back later.
    const prompt = page.querySelector('[data-crm-contact-prompt]');
    if (!prompt) {
        return;
    }
    const key = 'crm-contact-attempt-' + page.dataset.leadId;
    const maxAge = 6 * 60 * 60 * 1000;

    function remembered() {
        try {
            const stored = JSON.parse(window.sessionStorage.getItem(key) || 'null');
            return stored && Date.now() - stored.at < maxAge ? stored : null;
        } catch (error) {
            return null;
        }
    }
    function forget() {
        try {
            window.sessionStorage.removeItem(key);
        } catch (error) {
            /* storage unavailable: nothing to forget */
        }
    }
    function offer(stored) {
        prompt.querySelector('[data-crm-contact-channel]').value = stored.channel;
        prompt.querySelector('[data-crm-contact-channel-label]').textContent = '· ' + stored.label;
        prompt.hidden = false;
    }

    page.querySelectorAll('[data-crm-contact]').forEach(function (link) {
        link.addEventListener('click', function () {
            const stored = { channel: link.dataset.crmContact, label: link.dataset.crmContactLabel, at: Date.now() };
            try {
                window.sessionStorage.setItem(key, JSON.stringify(stored));
            } catch (error) {
                /* storage unavailable: the prompt still shows on this page */
            }
            offer(stored);
        });
    });
    prompt.querySelector('form').addEventListener('submit', forget);
    prompt.querySelector('[data-crm-contact-dismiss]').addEventListener('click', function () {
        forget();
        prompt.hidden = true;
    });
    function offerRemembered() {
        const stored = remembered();
        if (stored) {
            offer(stored);
        }
    }
    document.addEventListener('visibilitychange', function () {
        if (document.visibilityState === 'visible') {
            offerRemembered();
        }
    });
    offerRemembered();
}

// The admin loads its scripts before the page's content.
if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', crmLeadPage);
} else {
    crmLeadPage();
}
