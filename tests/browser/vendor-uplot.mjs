// Copies the uPlot files the dashboard loads from the installed npm package (version pinned by
// package-lock.json) into src/Api/wwwroot/lib/uplot. Run after changing the uplot version:
//   npm ci && npm run vendor-uplot
// DashboardAssetTests fails while the vendored copies differ from the package.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'node_modules', 'uplot');
const target = join(here, '..', '..', 'src', 'Api', 'wwwroot', 'lib', 'uplot');
mkdirSync(target, { recursive: true });
for (const file of ['dist/uPlot.iife.min.js', 'dist/uPlot.min.css', 'LICENSE']) {
  copyFileSync(join(source, file), join(target, file.split('/').pop()));
  console.log(`vendored ${file}`);
}
