// Loads a customer's printable statement page in Debian's headless Chromium (playwright-core), reads every figure it
// shows, checks that the print layout hides the controls, prints it to PDF and writes one JSON object on stdout.
// Exit code 0 when the page rendered, 1 otherwise (reason on stderr).
//
//   node tests/browser/statement.mjs <baseUrl> <customer> <month> <pdfPath>
//
// Environment: see session.mjs (CHROMIUM_PATH, MAESTROSLA_API_KEY).
import { readFileSync } from 'node:fs';
import { withPage, waitForPage } from './session.mjs';

const [baseUrl, customer, month, pdfPath] = process.argv.slice(2);
if (!pdfPath) {
  console.error('usage: node statement.mjs <baseUrl> <customer> <month> <pdfPath>');
  process.exit(2);
}
await withPage('statement', { width: 1280, height: 900 }, async ({ page, api, consoleErrors }) => {
  await page.goto(`${baseUrl}/statement.html?${new URLSearchParams({ customer, month })}`);
  await waitForPage(page);
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
});
