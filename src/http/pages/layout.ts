import type { Response } from "express";
import { html, type HtmlValue, type SafeHtml } from "../../lib/html";

/** Where the pages' style sheet and script are served (src/http/pages/assets). */
export const ASSETS_PATH = "/claim/assets";

export interface PageContent {
  /** The page's `<title>` and, unless `heading` says otherwise, its `<h1>`. */
  title: string;
  main: HtmlValue;
  /** A script of the assets folder, loaded deferred (the claims page's live updates). */
  script?: string;
  /** Shown at the top right: who is signed in, with a sign-out button. */
  header?: HtmlValue;
}

/** Every page's frame: one look, a skip link, landmarks, readable from 320 px wide. */
export function pageDocument(page: PageContent): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${page.title} · ordergate</title>
<link rel="stylesheet" href="${ASSETS_PATH}/pages.css">
${page.script ? html`<script src="${ASSETS_PATH}/${page.script}" defer></script>` : ""}
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
<a class="brand" href="/claim">ordergate</a>
${page.header}
</header>
<main id="main" tabindex="-1">
${page.main}
</main>
</body>
</html>
`;
}

/**
 * Sends a page that only says something: a heading and a notice (what happened, what to do
 * next). Whole pages, read from the heading down: no live-region role.
 */
export function sendMessagePage(
  res: Response,
  status: number,
  title: string,
  tone: "ok" | "warn" | "bad",
  body: HtmlValue,
): void {
  const main = html`<section class="card" aria-labelledby="page-title">
<h1 id="page-title">${title}</h1>
<div class="notice ${tone}">${body}</div>
</section>`;
  res.status(status).type("html").send(pageDocument({ title, main }).markup);
}
