import { chromium, type Browser } from "playwright-core";
import { existsSync } from "node:fs";

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** A headless Chromium that stays off the network except for what the page asks for. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 60_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
      // Pages the tests fulfil through a route count as public to Chromium, which then refuses their
      // same-origin WebSocket to 127.0.0.1 (Local Network Access): the live feed would never be tested.
      "--disable-features=LocalNetworkAccessChecks"],
  });
}
