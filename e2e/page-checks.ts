import type { BrowserContext, Page } from "playwright-core";

/**
 * A strict policy for pages served without one, so a page that needs inline script or a
 * third-party origin fails the test even before the edge sets its own policy. A page that
 * carries a Content-Security-Policy keeps it (and is tested under it).
 */
export const FALLBACK_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const PAGES = new Set(["/", "/docs"]);

/** Serves the pages under FALLBACK_CSP when the edge sent none. */
export async function enforceCsp(context: BrowserContext): Promise<void> {
  await context.route(
    (url) => PAGES.has(url.pathname),
    async (route) => {
      const res = await route.fetch();
      const headers = res.headers();
      if (!headers["content-security-policy"]) headers["content-security-policy"] = FALLBACK_CSP;
      await route.fulfill({ response: res, headers });
    },
  );
}

/**
 * Collects every CSP violation a page of this context reports, from the DOM event
 * (securitypolicyviolation) and from Chromium's console message, as text.
 */
export async function recordCspViolations(context: BrowserContext, into: string[]): Promise<void> {
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`csp-violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const watch = (page: Page) =>
    page.on("console", (m) => {
      if (/csp-violation|Content Security Policy/i.test(m.text())) into.push(m.text());
    });
  context.pages().forEach(watch);
  context.on("page", watch);
}

/** How far the page scrolls sideways (0 when it fits the viewport's width). */
export function sidewaysOverflow(page: Page): Promise<{ overflow: number; widest: string }> {
  return page.evaluate(() => {
    const doc = document.documentElement;
    // The element reaching furthest right names the culprit when the check fails.
    let widest = "";
    let right = 0;
    for (const el of Array.from(document.body.querySelectorAll("*"))) {
      const r = el.getBoundingClientRect().right;
      if (r > right) {
        right = r;
        widest = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}.${Array.from(el.classList).join(".")}`;
      }
    }
    return { overflow: doc.scrollWidth - doc.clientWidth, widest };
  });
}
