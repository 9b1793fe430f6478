import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from './workspace';

/** Where e2e suites leave files worth looking at (screenshots): tmp/e2e-output, git-ignored; STIGMER_E2E_OUTPUT overrides. */
export function e2eOutputDir(): string {
  const dir = process.env.STIGMER_E2E_OUTPUT ?? path.join(REPO_ROOT, 'tmp', 'e2e-output');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Debian's chromium (scripts/test-tools.js installs it); CHROMIUM_PATH overrides. A missing browser fails the test. */
export function chromiumExecutable(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((c): c is string => !!c);
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`no chromium at ${candidates.join(', ')}: run node scripts/test-tools.js (apt-get install chromium) or set CHROMIUM_PATH.`);
  return found;
}

export interface ReportPageResult {
  /** Every request the page made, its own file:// address included. */
  requests: string[];
  /** Errors thrown by the page's scripts. */
  errors: string[];
  /** The treemap rectangle of each package asked for: its size on screen, or null when there is none. */
  rectangles: Record<string, { width: number; height: number } | null>;
  /** After a click on `clickPackage`'s rectangle: the title and the file paths the page lists. */
  listedTitle: string;
  listedFiles: string[];
  /** Packages table rows, in the order shown after a click on the "package" header (sorted by name). */
  sortedByName: string[];
}

/**
 * Opens a report page from file:// in headless Chromium, records every request, measures the treemap
 * rectangles of the given packages, clicks one and reads the files the page lists, sorts the table by name,
 * and saves a screenshot.
 */
export async function inspectReportPage(htmlFile: string, packages: string[], clickPackage: string, screenshot: string): Promise<ReportPageResult> {
  const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    const rectangles: ReportPageResult['rectangles'] = {};
    for (const name of packages) {
      const rect = page.locator(`#treemap rect[data-package="${name.replace(/"/g, '\\"')}"]`);
      const box = (await rect.count()) === 1 ? await rect.boundingBox() : null;
      rectangles[name] = box ? { width: box.width, height: box.height } : null;
    }
    await page.locator(`#treemap g[data-package="${clickPackage.replace(/"/g, '\\"')}"]`).click();
    const listedTitle = (await page.locator('#files-title').textContent()) ?? '';
    const listedFiles = await page.locator('#files-body tr td:first-child').allTextContents();
    await page.screenshot({ path: screenshot });
    await page.locator('#packages th').first().click();
    const sortedByName = await page.locator('#packages-body tr td:first-child').allTextContents();
    return { requests, errors, rectangles, listedTitle, listedFiles, sortedByName };
  } finally {
    await browser.close();
  }
}
