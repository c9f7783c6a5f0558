// Loads a customer's printable statement page in Debian's headless Chromium (playwright-core), reads every figure it
// shows, checks that the print layout hides the controls, prints it to PDF and writes one JSON object on stdout.
// Exit code 0 when the page rendered, 1 otherwise (reason on stderr).
//
//   node tests/browser/statement.mjs <baseUrl> <customer> <month> <pdfPath>
//
// Environment: CHROMIUM_PATH (default /usr/bin/chromium); MAESTROSLA_API_KEY, when set, is entered as a user would
// (sessionStorage) and every API request is checked to carry it.
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [baseUrl, customer, month, pdfPath] = process.argv.slice(2);
if (!pdfPath) {
  console.error('usage: node statement.mjs <baseUrl> <customer> <month> <pdfPath>');
  process.exit(2);
}
const apiKey = process.env.MAESTROSLA_API_KEY || '';
const userDataDir = mkdtempSync(join(tmpdir(), 'maestrosla-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
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
  if (apiKey) await context.addInitScript((key) => sessionStorage.setItem('maestrosla.apiKey', key), apiKey);

  await page.goto(`${baseUrl}/statement.html?${new URLSearchParams({ customer, month })}`);
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 60_000 });
  if (await page.evaluate(() => document.body.dataset.state) !== 'ready') {
    throw new Error(`the page shows an error: ${await page.textContent('#message')}`);
  }
  const shown = await page.evaluate(() => {
    const text = (selector) => document.querySelector(selector)?.textContent.trim();
    const pair = (cell) => ({ raw: cell.dataset.raw === '' ? null : Number(cell.dataset.raw), adjusted: cell.dataset.adjusted === '' ? null : Number(cell.dataset.adjusted), text: cell.textContent.trim() });
    return {
      customer: text('[data-field="customer"]'),
      month: text('[data-field="month"]'),
      status: text('[data-field="status"]'),
      contractVersion: text('[data-field="contractVersion"]'),
      overall: text('[data-field="overall"] b'),
      credit: text('[data-field="credit"] b'),
      metrics: [...document.querySelectorAll('#metricsTable tbody tr')].map((row) => ({
        metric: row.dataset.metric, target: row.cells[1].textContent.trim(), actual: row.cells[2].textContent.trim(), result: row.cells[3].textContent.trim(),
      })),
      services: [...document.querySelectorAll('#servicesTable tbody tr')].map((row) => ({
        service: row.dataset.service,
        requests: row.cells[1].textContent.trim(),
        excluded: row.cells[2].textContent.trim(),
        uptime: pair(row.cells[3]),
        availability: pair(row.cells[4]),
        errorRate: pair(row.cells[5]),
        latencyP99: pair(row.cells[6]),
        result: row.cells[9].textContent.trim(),
      })),
      windows: document.querySelectorAll('#windowsTable tbody tr').length,
    };
  });

  // On paper: the controls are gone, the document stays.
  await page.emulateMedia({ media: 'print' });
  const print = await page.evaluate(() => ({
    header: getComputedStyle(document.querySelector('header')).display,
    statement: getComputedStyle(document.querySelector('#statement')).display,
  }));
  await page.pdf({ path: pdfPath, format: 'A4', landscape: true, printBackground: true });
  const pdf = readFileSync(pdfPath);
  console.log(JSON.stringify({ ...shown, print, pdf: { bytes: pdf.length, magic: pdf.subarray(0, 5).toString('latin1') }, api, consoleErrors }));
} catch (error) {
  console.error(`statement check failed: ${error.stack || error}`);
  if (consoleErrors.length) console.error(`browser console errors:\n${consoleErrors.join('\n')}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
