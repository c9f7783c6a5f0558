// Loads the MaestroSla dashboard in Debian's headless Chromium (playwright-core drives it; no browser download),
// waits until the charts are drawn, checks their pixels, reads the figures the report table shows and prints
// everything as one JSON object on stdout. Exit code 0 when the page rendered, 1 otherwise (reason on stderr).
//
//   node tests/browser/dashboard.mjs <baseUrl> <service> <month> <tz> <screenshotPath> [hour|day]
//
// Environment: see session.mjs (CHROMIUM_PATH, MAESTROSLA_API_KEY).
import { withPage, waitForPage } from './session.mjs';

const [baseUrl, service, month, tz, screenshotPath, step] = process.argv.slice(2);
if (!screenshotPath) {
  console.error('usage: node dashboard.mjs <baseUrl> <service> <month> <tz> <screenshotPath> [step]');
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
  const number = (text) => (text == null || text.trim() === '—' ? null : Number(text.replace(/,/g, '')));
  const report = await page.evaluate(() => ({
    overall: document.querySelector('[data-field="overall"] b')?.textContent.trim(),
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
  await page.screenshot({ path: screenshotPath, fullPage: true });

  // 3. The same month per hour, switched the way a user would.
  await page.selectOption('#step', step === 'hour' ? 'day' : 'hour');
  await waitForPage(page);
  const otherStepCharts = await readCharts(page);
  await page.screenshot({ path: screenshotPath.replace(/\.png$/, `-${step === 'hour' ? 'day' : 'hour'}.png`), fullPage: true });

  console.log(JSON.stringify({
    landing,
    currentMonth,
    services,
    overall: report.overall,
    requests: number(report.requests),
    errors: number(report.errors),
    downtimeRows: report.downtimeRows,
    metrics: report.metrics.map((m) => ({ ...m, target: number(m.target), actual: number(m.actual) })),
    charts,
    otherStepCharts,
    api,
    consoleErrors,
  }));
});

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
