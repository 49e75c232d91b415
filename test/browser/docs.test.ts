import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { startTestApi, type TestApi } from '../support/harness.js';

describe('API reference page', () => {
  let api: TestApi;
  let browser: Browser;

  beforeAll(async () => {
    api = await startTestApi();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  it('renders every customer endpoint from assets served by the API itself', async () => {
    const page = await browser.newPage();
    // Anything fetched from elsewhere would be missing where the API runs without internet.
    const elsewhere: string[] = [];
    const origin = new URL(api.url).origin;
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    const scriptErrors: string[] = [];
    page.on('pageerror', (error) => scriptErrors.push(error.message));

    const response = await page.goto(`${api.url}/docs`);
    expect(response?.status()).toBe(200);
    await page
      .locator('.opblock')
      .first()
      .waitFor({ timeout: 20_000 })
      .catch((error: unknown) => {
        throw new Error(`no operation rendered; requests blocked: ${elsewhere.join(', ') || 'none'}`, { cause: error });
      });

    // Swagger UI puts zero-width spaces into paths so that long ones can wrap.
    const operations = (await page.locator('.opblock-summary').allInnerTexts()).map((text) =>
      text.replace(/\u200b/g, '').replace(/\s+/g, ' '),
    );
    const shown = (method: string, path: string, summary: string) =>
      operations.some((text) => text.startsWith(`${method} ${path} `) && text.includes(summary));
    expect(shown('POST', '/v1/customers', 'Create a customer'), operations.join('\n')).toBe(true);
    expect(shown('GET', '/v1/customers', 'List customers')).toBe(true);
    expect(shown('GET', '/v1/customers/{id}', 'Retrieve a customer')).toBe(true);
    expect(shown('PATCH', '/v1/customers/{id}', 'Update a customer')).toBe(true);
    expect(shown('DELETE', '/v1/customers/{id}', 'Delete a customer')).toBe(true);
    expect(shown('PUT', '/v1/customers/external/{source}/{external_id}', 'by external source and id')).toBe(true);
    expect(await page.locator('button.authorize').count()).toBe(1);

    expect(elsewhere).toEqual([]);
    expect(scriptErrors).toEqual([]);
    await page.close();
  });
});
