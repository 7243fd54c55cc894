// The claims page, live: counts each link's expiry down, and follows the signed-in customer's
// claims over GraphQL (`orderClaimUpdated`, SSE, authenticated by the session cookie). When a
// claim changes, its card is fetched again as the server renders it (/claim/claims/:id), so the
// page and the script never disagree about how a claim looks. A pending claim's Cancel is posted
// from here, so the page stays where it is.
"use strict";

(function () {
  const list = document.getElementById("claims");
  const live = document.getElementById("live-status");
  if (!list || !live) return;

  const SUBSCRIPTION = "subscription ClaimsPage { orderClaimUpdated { id status } }";
  const MAX_RETRY_MS = 15000;

  function announce(text) {
    live.textContent = text;
  }

  /** "4:59", or "1:04:59" from an hour up. */
  function remaining(ms) {
    const seconds = Math.max(0, Math.ceil(ms / 1000));
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor(seconds / 60) % 60;
    const mmss = String(minutes).padStart(hours > 0 ? 2 : 1, "0") + ":" + String(seconds % 60).padStart(2, "0");
    return hours > 0 ? hours + ":" + mmss : mmss;
  }

  function tick() {
    for (const element of list.querySelectorAll(".countdown[data-expires-at]")) {
      const left = Date.parse(element.dataset.expiresAt) - Date.now();
      // The server marks the claim EXPIRED within a moment and the card is replaced; until then it says so itself.
      element.textContent = left > 0 ? "expires in " + remaining(left) : "has expired";
    }
  }

  function fromHtml(markup) {
    const template = document.createElement("template");
    template.innerHTML = markup.trim();
    return template.content;
  }

  async function fragment(path) {
    const response = await fetch(path, { headers: { accept: "text/html" }, cache: "no-store" });
    // Signed out meanwhile (elsewhere, or the session ended): the page shows the sign-in form.
    if (response.status === 401) {
      window.location.reload();
      return null;
    }
    return response.ok ? response.text() : null;
  }

  async function refreshAll() {
    const markup = await fragment("/claim/claims");
    if (markup === null) return;
    list.replaceChildren(fromHtml(markup));
    tick();
  }

  async function refreshClaim(id) {
    // A claim the page does not show (new, or older than those listed): the list as the server
    // renders it now puts it where it belongs, or leaves it out.
    if (!document.getElementById("claim-" + id)) {
      await refreshAll();
    } else {
      const markup = await fragment("/claim/claims/" + encodeURIComponent(id));
      if (markup === null) return;
      const card = fromHtml(markup).firstElementChild;
      const current = document.getElementById("claim-" + id);
      if (!card || !current) return;
      // Focus inside the old card (its Cancel button) goes to the new card's heading, not to the page's top.
      const hadFocus = current.contains(document.activeElement);
      current.replaceWith(card);
      if (hadFocus) card.querySelector("h2")?.focus();
      tick();
    }
    const card = document.getElementById("claim-" + id);
    if (card) announce(card.dataset.announce || "");
  }

  // One refresh at a time, in the order the events came: a late answer to an older request
  // never overwrites a newer state.
  let refreshes = Promise.resolve();
  function queue(refresh) {
    refreshes = refreshes.then(refresh).catch((error) => console.warn("could not refresh the claims", error));
  }

  /** Reads a text/event-stream body, calling `onEvent(type, data)` for each event. */
  async function readEvents(body, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      // Lines may end in CRLF, CR or LF; a CR at the end of a chunk may be half of a CRLF.
      buffer = (buffer + value).replace(/\r\n/g, "\n").replace(/\r(?!$)/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) type = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length > 0 || type !== "message") onEvent(type, data.join("\n"));
      }
    }
  }

  async function follow() {
    let retryMs = 1000;
    for (;;) {
      try {
        const response = await fetch("/graphql", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "text/event-stream",
            "x-graphql-yoga-csrf": "claims-page",
          },
          body: JSON.stringify({ query: SUBSCRIPTION }),
          cache: "no-store",
        });
        if (!response.ok || !response.body) throw new Error("subscription refused: HTTP " + response.status);
        // Whatever changed while not listening (before the first connection, or during a break).
        queue(refreshAll);
        let signedOut = false;
        await readEvents(response.body, (type, data) => {
          if (type !== "next" && type !== "message") return;
          const result = JSON.parse(data);
          if (
            result.errors &&
            result.errors.some((error) => error.extensions && error.extensions.code === "UNAUTHENTICATED")
          ) {
            signedOut = true;
            return;
          }
          const claim = result.data && result.data.orderClaimUpdated;
          if (!claim) return;
          // The stream works: the next break starts its backoff afresh.
          retryMs = 1000;
          queue(() => refreshClaim(claim.id));
        });
        if (signedOut) {
          window.location.reload();
          return;
        }
      } catch (error) {
        console.warn("claim updates interrupted; retrying", error);
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
  }

  /** The sentence of a page that says why a form was refused (its notice), for the live region. */
  async function refusal(response) {
    const notice = fromHtml(await response.text()).querySelector(".notice");
    return notice ? notice.textContent.replace(/\s+/g, " ").trim() : "The request could not be canceled.";
  }

  // Cancel, without leaving the page: the same form and form token as without the script. Success
  // is the server's redirect back to the list (not followed: the card alone is drawn again).
  async function cancel(form) {
    const card = form.closest(".claim");
    if (!card || form.dataset.sending) return;
    form.dataset.sending = "true";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        redirect: "manual",
        cache: "no-store",
      });
      if (response.status === 401) {
        window.location.reload();
        return;
      }
      const refused = response.type === "opaqueredirect" ? null : await refusal(response);
      // The card as it stands now (Canceled, or what the claim became meanwhile), then why, if refused.
      queue(async () => {
        await refreshClaim(card.dataset.claimId);
        if (refused) announce(refused);
      });
    } catch (error) {
      console.warn("could not cancel the claim", error);
      announce("The request could not be sent. Check the connection and try again.");
    } finally {
      delete form.dataset.sending;
    }
  }

  list.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("cancel-claim")) return;
    event.preventDefault();
    void cancel(form);
  });

  tick();
  setInterval(tick, 1000);
  void follow();
})();
