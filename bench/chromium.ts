/**
 * Debian's Chromium driven by playwright-core, headless and offline (no background networking,
 * updates, sync or first-run pages): the browser of the console benchmark and the browser tests.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.GRIDOS_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}
