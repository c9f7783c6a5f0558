// What every page check shares: Debian's headless Chromium through playwright-core (no browser download), a
// throwaway profile, the API key entered the way a user would (sessionStorage) with every /api request counted and
// checked to carry it, browser console errors collected, and one way to fail (reason on stderr, exit code 1).
//
// Environment: CHROMIUM_PATH (default /usr/bin/chromium); MAESTROSLA_API_KEY, when set, as above.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/**
 * Opens a page and runs `check({ page, api, consoleErrors })`; `api` counts the /api requests and those that carried
 * the key. A check that throws prints `<name> check failed: …` and sets the exit code to 1.
 */
export async function withPage(name, viewport, check) {
  const apiKey = process.env.MAESTROSLA_API_KEY || '';
  const userDataDir = mkdtempSync(join(tmpdir(), 'maestrosla-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport,
    deviceScaleFactor: 1,
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  const consoleErrors = [];
  const api = { requests: 0, withKey: 0 };
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) {
        api.requests++;
        if (apiKey && request.headers()['x-api-key'] === apiKey) api.withKey++;
      }
    });
    if (apiKey) {
      await context.addInitScript((key) => sessionStorage.setItem('maestrosla.apiKey', key), apiKey);
    }
    await check({ page, api, consoleErrors });
  } catch (error) {
    console.error(`${name} check failed: ${error.stack || error}`);
    if (consoleErrors.length) console.error(`browser console errors:\n${consoleErrors.join('\n')}`);
    process.exitCode = 1;
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** Waits until the page has loaded its data (body[data-state] leaves "loading"); throws what it shows on an error. */
export async function waitForPage(page) {
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 60_000 });
  if (await page.evaluate(() => document.body.dataset.state) !== 'ready') {
    throw new Error(`the page shows an error: ${await page.textContent('#message')}`);
  }
}
