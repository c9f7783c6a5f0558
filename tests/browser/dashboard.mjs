// Loads the MaestroSla dashboard in Debian's headless Chromium (playwright-core drives it; no browser download),
// waits until the charts are drawn, checks their pixels, reads the figures the report table shows and prints
// everything as one JSON object on stdout. Exit code 0 when the page rendered, 1 otherwise (reason on stderr).
// With a customer, it then picks that customer of the service in the page and reads that customer's figures.
//
//   node tests/browser/dashboard.mjs <baseUrl> <service> <month> <tz> <screenshotPath> [hour|day] [customer]
//
// Environment: see session.mjs (CHROMIUM_PATH, MAESTROSLA_API_KEY).
import { withPage, waitForPage } from './session.mjs';

const [baseUrl, service, month, tz, screenshotPath, step, customer] = process.argv.slice(2);
if (!screenshotPath) {
  console.error('usage: node dashboard.mjs <baseUrl> <service> <month> <tz> <screenshotPath> [step] [customer]');
  process.exit(2);
}
await withPage('dashboard', { width: 1440, height: 1000 }, async ({ page, api, consoleErrors }) => {
  // 1. The landing page: the service list from /api/status, for the month the page chose (no month asked for).
  await page.goto(`${baseUrl}/?tz=${encodeURIComponent(tz)}`);
  await waitForPage(page);
  const landing = await readStatusPage(page);
  const services = landing.services;
  await page.screenshot({ path: screenshotPath.replace(/\.png$/, '-status.png'), fullPage: true });

  // 1b. The same list for the current month of the zone, picked explicitly (it may hold no data).
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit' }).formatToParts(new Date());
  const thisMonth = `${parts.find((p) => p.type === 'year').value}-${parts.find((p) => p.type === 'month').value}`;
  await page.goto(`${baseUrl}/?${new URLSearchParams({ tz, month: thisMonth })}`);
  await waitForPage(page);
  const currentMonth = await readStatusPage(page);
  await page.screenshot({ path: screenshotPath.replace(/\.png$/, '-status-current.png'), fullPage: true });

  // 2. One service and month: charts, report table, downtime.
  const query = new URLSearchParams({ service, month, tz, ...(step ? { step } : {}) });
  await page.goto(`${baseUrl}/?${query}`);
  await waitForPage(page);
  const charts = await readCharts(page);
  const report = await readReport(page);
  await page.screenshot({ path: screenshotPath, fullPage: true });

  // 3. The same month per hour, switched the way a user would.
  await page.selectOption('#step', step === 'hour' ? 'day' : 'hour');
  await waitForPage(page);
  const otherStepCharts = await readCharts(page);
  await page.screenshot({ path: screenshotPath.replace(/\.png$/, `-${step === 'hour' ? 'day' : 'hour'}.png`), fullPage: true });

  // 4. One customer, picked the way a user would; the link it leaves opens on it again; "all customers" goes back.
  let picked = null;
  if (customer) {
    const pickerShown = await page.isVisible('#customer');
    const options = await page.$$eval('#customer option', (nodes) => nodes.map((node) => ({ value: node.value, text: node.textContent })));
    await page.selectOption('#customer', customer);
    await waitForPage(page);
    const shown = await readReport(page);
    const url = await page.evaluate(() => location.search);
    const customerCharts = await readCharts(page);
    await page.screenshot({ path: screenshotPath.replace(/\.png$/, `-${customer}.png`), fullPage: true });
    await page.reload();
    await waitForPage(page);
    const reloaded = { selected: await page.inputValue('#customer'), ...await readReport(page) };
    await page.selectOption('#customer', '');
    await waitForPage(page);
    const all = { url: await page.evaluate(() => location.search), ...await readReport(page) };
    picked = { pickerShown, options, url, ...shown, charts: customerCharts, reloaded, all };
  }

  console.log(JSON.stringify({
    landing,
    currentMonth,
    services,
    ...report,
    charts,
    otherStepCharts,
    customer: picked,
    api,
    consoleErrors,
  }));
});

/** The figures of a service (or customer) page: the verdict, the request and error counts, every report row. */
async function readReport(page) {
  const number = (text) => (text == null || text.trim() === '—' ? null : Number(text.replace(/,/g, '')));
  const shown = await page.evaluate(() => ({
    overall: document.querySelector('[data-field="overall"] b')?.textContent.trim(),
    customer: document.querySelector('[data-field="customer"] b')?.textContent.trim() ?? null,
    requests: document.querySelector('[data-field="requests"]')?.textContent,
    errors: document.querySelector('[data-field="errors"]')?.textContent,
    downtimeRows: document.querySelectorAll('#downtimeTable tbody tr').length,
    metrics: [...document.querySelectorAll('#reportTable tbody tr')].map((row) => ({
      metric: row.dataset.metric,
      target: row.querySelector('.target .num')?.textContent,
      actual: row.querySelector('.actual .num')?.textContent,
      result: row.querySelector('.result')?.textContent.trim(),
    })),
  }));
  return {
    ...shown,
    requests: number(shown.requests),
    errors: number(shown.errors),
    metrics: shown.metrics.map((m) => ({ ...m, target: number(m.target), actual: number(m.actual) })),
  };
}

async function readStatusPage(page) {
  return page.evaluate(() => ({
    month: document.querySelector('#month').value,
    url: location.search,
    period: document.querySelector('#statusPeriod').textContent.trim(),
    message: document.querySelector('#message').hidden ? '' : document.querySelector('#message').textContent.trim(),
    services: [...document.querySelectorAll('#statusTable tbody tr')].map((row) => ({
      service: row.dataset.service,
      sla: row.cells[1].textContent.trim(),
      cells: [...row.cells].slice(2).map((cell) => cell.textContent.trim()),
    })),
  }));
}

async function readCharts(page) {
  // Per chart: its canvas size, how many pixels are drawn at all, and how many have each series' colour.
  return page.$$eval('.chart', (containers) => containers.map((container) => {
    const canvas = container.querySelector('canvas');
    if (!canvas) return { id: container.id, width: 0, height: 0, nonBlank: 0, colors: {} };
    const { width, height } = canvas;
    const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    const parse = (css) => {
      const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css);
      if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16), 1];
      const rgba = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/.exec(css);
      return [Number(rgba[1]), Number(rgba[2]), Number(rgba[3]), rgba[4] === undefined ? 1 : Number(rgba[4])];
    };
    const wanted = JSON.parse(container.dataset.colors || '[]').map((css) => ({ css, rgba: parse(css) }));
    const colors = Object.fromEntries(wanted.map((w) => [w.css, 0]));
    let nonBlank = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const a = pixels[i + 3];
      if (a === 0) continue;
      nonBlank++;
      for (const { css, rgba: [r, g, b, alpha] } of wanted) {
        const close = Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b) < 90;
        const opaque = alpha === 1 ? a >= 128 : Math.abs(a - alpha * 255) < 30;
        if (close && opaque) colors[css]++;
      }
    }
    return { id: container.id, width, height, nonBlank, colors };
  }));
}
