import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it): Playwright cannot download browsers here. */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(TEST_OUTPUT_DIR, 'browser');
const UI_TIMEOUT_MS = 15_000;

/**
 * Swagger UI at /docs in a real headless Chromium: a developer expands predictSentiment, tries the
 * prefilled example, then an invalid body, and deep links open the operation.
 */
const API_KEY = 'browser-test-key-0123456789';

describe('Swagger UI at /docs (headless Chromium)', () => {
  let t: TestApp;
  let secured: TestApp;
  let browser: Browser;
  let baseUrl: string;
  let securedUrl: string;

  beforeAll(async () => {
    [t, secured] = await Promise.all([startTestApp(), startTestApp({ API_KEYS: API_KEY })]);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    await secured.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = await t.app.getUrl();
    securedUrl = await secured.app.getUrl();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([t?.close(), secured?.close()]);
  });

  async function openPage(path: string, base = baseUrl): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    await page.goto(`${base}${path}`);
    return page;
  }

  /** Waits until the operation shows a live response with this status, and returns its body text. */
  async function liveResponse(operation: Locator, status: number): Promise<string> {
    const live = operation.locator('.live-responses-table');
    await live.locator('.response-col_status', { hasText: new RegExp(`^\\s*${status}\\s*$`) }).waitFor();
    return live.locator('.response-col_description pre').first().innerText();
  }

  it('runs the prefilled predict example (200, POSITIVE), then shows the 422 problem of an empty text array', async () => {
    const page = await openPage('/docs');
    const operation = page.locator('#operations-sentiment-predictSentiment');
    await operation.locator('.opblock-summary-control').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();

    const body = operation.locator('textarea.body-param__text');
    expect(JSON.parse(await body.inputValue())).toEqual({ text: ['I love you', 'I hate you'] });
    await operation.getByRole('button', { name: 'Execute' }).click();
    const ok = JSON.parse(await liveResponse(operation, 200));
    expect(ok.predictions.map((p: { label: string }[]) => p[0].label)).toEqual(['POSITIVE', 'NEGATIVE']);
    await operation.screenshot({ path: join(SCREENSHOTS, 'predict-200.png') });

    await body.fill('{"text": []}');
    await operation.getByRole('button', { name: 'Execute' }).click();
    const problem = JSON.parse(await liveResponse(operation, 422));
    expect(problem).toEqual(
      expect.objectContaining({
        type: 'urn:sentiment-api:problem:validation',
        status: 422,
        errors: [{ path: 'text', message: 'must contain at least 1 text' }],
      }),
    );
    await operation.screenshot({ path: join(SCREENSHOTS, 'predict-422.png') });
    await page.close();
  });

  it('with API_KEYS set: Try it out gets 401 until the key is given through the Authorize button, then 200', async () => {
    const page = await openPage('/docs', securedUrl);
    const operation = page.locator('#operations-sentiment-predictSentiment');
    await operation.locator('.opblock-summary-control').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.getByRole('button', { name: 'Execute' }).click();
    const refused = JSON.parse(await liveResponse(operation, 401));
    expect(refused).toEqual(expect.objectContaining({ type: 'urn:sentiment-api:problem:unauthorized', status: 401 }));

    await page.locator('.auth-wrapper .btn.authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input[aria-label="auth-bearer-value"]').fill(API_KEY);
    await dialog.locator('.auth-container', { hasText: 'bearerAuth' }).locator('.btn.modal-btn.auth.authorize').click();
    await dialog.locator('.btn-done').first().click();

    await operation.getByRole('button', { name: 'Execute' }).click();
    const ok = JSON.parse(await liveResponse(operation, 200));
    expect(ok.predictions.map((p: { label: string }[]) => p[0].label)).toEqual(['POSITIVE', 'NEGATIVE']);
    await operation.screenshot({ path: join(SCREENSHOTS, 'predict-authorized-200.png') });
    await page.close();
  });

  it('opens the operation from a deep link', async () => {
    const page = await openPage('/docs#/sentiment/predictSentiment');
    const operation = page.locator('#operations-sentiment-predictSentiment');
    await operation.getByRole('button', { name: 'Try it out' }).waitFor();
    expect(await operation.getAttribute('class')).toMatch(/\bis-open\b/);
    await page.screenshot({ path: join(SCREENSHOTS, 'deep-link.png') });
    await page.close();
  });
});
